/**
 * The checks a JSON Schema cannot express: who the parties are, that addresses are checksummed and
 * belong to parties, that keys match addresses, that the validity window is a window, and that the
 * Ocean layouts the instance will expose have no collisions. Pure: contract in, issues out.
 */

import { computeAddress, getAddress } from "ethers";
import type { Issue } from "../errors.js";
import type { Contract, Party } from "./types.generated.js";
import { consumerParameterRuleProblems } from "./parameters.js";

export function isChecksummedAddress(value: string): boolean {
  try {
    return getAddress(value) === value;
  } catch {
    return false;
  }
}

export function partiesWithRole(contract: Contract, role: Party["role"]): Party[] {
  return contract.parties.filter((party) => party.role === role);
}

export function findParty(contract: Contract, address: string): Party | undefined {
  const wanted = address.toLowerCase();
  return contract.parties.find((party) => party.address.toLowerCase() === wanted);
}

/** Parties whose approval of the algorithm is required: every data provider and the witness. */
export function requiredApprovers(contract: Contract): Party[] {
  return contract.parties.filter((party) => party.role === "provider" || party.role === "witness");
}

export function parseTimestamp(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) || new Date(ms).toISOString().replace(".000Z", "Z") !== value ? undefined : ms;
}

export function checkContractRules(contract: Contract, file: string, folderId: string): Issue[] {
  const issues: Issue[] = [];
  const add = (path: string, message: string, fix: string): void => {
    issues.push({ file, path, message, fix });
  };

  if (contract.id !== folderId) {
    add(
      "$.id",
      `id ${JSON.stringify(contract.id)} differs from its folder name ${JSON.stringify(folderId)}`,
      `rename the folder or set id to ${JSON.stringify(folderId)}`,
    );
  }

  const seen = new Map<string, number>();
  contract.parties.forEach((party, i) => {
    const path = `$.parties[${i}]`;
    if (!isChecksummedAddress(party.address)) {
      add(`${path}.address`, "is not an EIP-55 checksummed address", `write it as ${safeChecksum(party.address)}`);
    }
    const key = party.address.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) add(`${path}.address`, `same address as $.parties[${earlier}]`, "list each party once; one address has one role");
    else seen.set(key, i);
    if (party.publicKey !== undefined && !publicKeyMatches(party.publicKey, party.address)) {
      add(`${path}.publicKey`, "does not belong to the party's address", "copy the public key printed by `datomspod keys show --key FILE` for this party");
    }
  });

  const count = (role: Party["role"]): number => partiesWithRole(contract, role).length;
  if (count("consumer") !== 1) add("$.parties", `needs exactly one consumer, found ${count("consumer")}`, "give exactly one party the role consumer");
  if (count("provider") < 1) add("$.parties", "needs at least one provider", "add the data owner with the role provider");
  if (count("witness") > 1) add("$.parties", `at most one witness, found ${count("witness")}`, "keep one witness");
  if (count("operator") > 1) add("$.parties", `at most one operator, found ${count("operator")}`, "keep one operator");

  const roleOf = (address: string): Party["role"] | undefined => findParty(contract, address)?.role;

  const dids = new Map<string, number>();
  const flatNames = new Map<string, string>();
  contract.inputs.data.forEach((asset, i) => {
    const path = `$.inputs.data[${i}]`;
    if (!isChecksummedAddress(asset.owner)) add(`${path}.owner`, "is not an EIP-55 checksummed address", `write it as ${safeChecksum(asset.owner)}`);
    else if (roleOf(asset.owner) !== "provider") add(`${path}.owner`, "is not a party with the role provider", "name the provider party that owns this data");
    const earlier = dids.get(asset.did);
    if (earlier !== undefined) add(`${path}.did`, `same DID as $.inputs.data[${earlier}]`, "give each dataset its own DID");
    else dids.set(asset.did, i);
    asset.files.forEach((entry, j) => {
      const other = flatNames.get(entry.name);
      const here = `${path}.files[${j}].name`;
      if (other !== undefined) {
        add(here, `file name also used at ${other}; Ocean's flat layout /data/inputs/<file name> needs unique names`, "rename one of the files");
      } else flatNames.set(entry.name, here);
      if (entry.name === "algoCustomData.json") add(here, "is reserved for the consumer parameters", "rename the file");
    });
  });

  const algorithm = contract.inputs.algorithm;
  if (dids.has(algorithm.did)) add("$.inputs.algorithm.did", "is also the DID of an input dataset", "give the algorithm its own DID");
  if (algorithm.provider !== undefined) {
    if (!isChecksummedAddress(algorithm.provider)) {
      add("$.inputs.algorithm.provider", "is not an EIP-55 checksummed address", `write it as ${safeChecksum(algorithm.provider)}`);
    } else {
      const role = roleOf(algorithm.provider);
      if (role !== "consumer" && role !== "algorithm-provider") {
        add("$.inputs.algorithm.provider", "is not the consumer or an algorithm-provider party", "name the party that supplies the algorithm");
      }
    }
  }

  contract.business.pricing.forEach((price, i) => {
    if (!isChecksummedAddress(price.party))
      add(`$.business.pricing[${i}].party`, "is not an EIP-55 checksummed address", `write it as ${safeChecksum(price.party)}`);
    else if (roleOf(price.party) === undefined) add(`$.business.pricing[${i}].party`, "is not a party of the contract", "name a party listed in $.parties");
  });
  const token = contract.business.currency.token;
  if (token !== undefined && !isChecksummedAddress(token))
    add("$.business.currency.token", "is not an EIP-55 checksummed address", `write it as ${safeChecksum(token)}`);

  const { notBefore, notAfter } = contract.business.validity;
  const from = parseTimestamp(notBefore);
  const until = parseTimestamp(notAfter);
  if (from === undefined) add("$.business.validity.notBefore", "is not a real date and time", "use e.g. 2026-12-01T00:00:00Z");
  if (until === undefined) add("$.business.validity.notAfter", "is not a real date and time", "use e.g. 2027-06-01T00:00:00Z");
  if (from !== undefined && until !== undefined && from >= until) {
    add("$.business.validity.notAfter", "is not after notBefore", "make the validity window end after it starts");
  }

  contract.outputs.recipients.forEach((recipient, i) => {
    const path = `$.outputs.recipients[${i}]`;
    if (!isChecksummedAddress(recipient)) {
      add(path, "is not an EIP-55 checksummed address", `write it as ${safeChecksum(recipient)}`);
      return;
    }
    const party = findParty(contract, recipient);
    if (party === undefined) add(path, "is not a party of the contract", "outputs may only go to parties");
    else if (party.publicKey === undefined)
      add(path, "the recipient party has no publicKey, so outputs cannot be encrypted to it", "add publicKey to that party");
  });
  if (contract.outputs.policy.ownerReview) {
    contract.parties.forEach((party, i) => {
      if (party.role === "provider" && party.publicKey === undefined) {
        add(
          `$.parties[${i}].publicKey`,
          "is missing: with ownerReview the outputs are sealed for the data providers first",
          "add the provider's publicKey (datomspod keys show --key FILE)",
        );
      }
    });
  }
  if (contract.outputs.kinds.includes("raw-records") && contract.outputs.policy.noRawRecords) {
    add("$.outputs.kinds", "lists raw-records while the output policy sets noRawRecords", "drop raw-records or set noRawRecords to false");
  }
  for (const problem of consumerParameterRuleProblems(contract)) add(problem.path, problem.message, problem.fix);

  const evidence = contract.evidence;
  if (!isChecksummedAddress(evidence.anchor.address))
    add("$.evidence.anchor.address", "is not an EIP-55 checksummed address", `write it as ${safeChecksum(evidence.anchor.address)}`);
  for (const list of ["anchorers", "runners"] as const) {
    const seenHere = new Set<string>();
    evidence[list].forEach((address, i) => {
      const path = `$.evidence.${list}[${i}]`;
      if (!isChecksummedAddress(address)) add(path, "is not an EIP-55 checksummed address", `write it as ${safeChecksum(address)}`);
      if (seenHere.has(address.toLowerCase())) add(path, "is listed twice", "list each account once");
      seenHere.add(address.toLowerCase());
    });
  }
  return issues;
}

export function publicKeyMatches(publicKey: string, address: string): boolean {
  try {
    return computeAddress(publicKey).toLowerCase() === address.toLowerCase();
  } catch {
    return false;
  }
}

function safeChecksum(value: string): string {
  try {
    return getAddress(value.toLowerCase());
  } catch {
    return "a 0x-prefixed 40-hex-digit address";
  }
}
