/**
 * The checks a JSON Schema cannot express: who the parties are, that addresses are checksummed and
 * belong to parties, that keys match addresses, that the validity window is a window, and that the
 * Ocean layouts the instance will expose have no collisions. Pure: contract in, issues out.
 */

import { computeAddress, getAddress } from "./address.js";
import type { Issue } from "../errors.js";
import type { Contract, Party } from "./types.generated.js";
import { consumerParameterRuleProblems } from "./parameters.js";
import { ZERO, add as addDecimal, compare, formatDecimal, parseDecimal, toSmallestUnit, type Decimal } from "./money.js";

/** The file types an output without an extension may be given (outputs.policy.extensionless.types): those datomspace-out recognises from content. */
export const EXTENSIONLESS_TYPES: readonly string[] = [
  "csv",
  "gif",
  "gz",
  "jpeg",
  "jpg",
  "json",
  "log",
  "md",
  "npy",
  "parquet",
  "pdf",
  "png",
  "tif",
  "tiff",
  "tsv",
  "txt",
  "webp",
  "zip",
];

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
  if (algorithm.code.packageFile !== undefined && algorithm.package === undefined)
    add(
      "$.inputs.algorithm.code.packageFile",
      "names a file of an algorithm package, but no package is named",
      "name the package in $.inputs.algorithm.package",
    );
  if (algorithm.package !== undefined && algorithm.code.packageFile === undefined)
    add(
      "$.inputs.algorithm.code",
      `the algorithm is the package ${algorithm.package.name}@${algorithm.package.version}, so its code is the package's`,
      "set code.packageFile to the package's code file (datomspod algorithm use writes it) instead of a path or CID",
    );
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
    else if (roleOf(price.party) === "consumer")
      add(`$.business.pricing[${i}].party`, "is the consumer, who pays: the consumer earns no fee", "name the party that earns this fee");
  });
  const token = contract.business.currency.token;
  if (token !== undefined && !isChecksummedAddress(token))
    add("$.business.currency.token", "is not an EIP-55 checksummed address", `write it as ${safeChecksum(token)}`);
  for (const issue of businessRuleProblems(contract)) add(issue.path, issue.message, issue.fix);

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
  const fileTypes = contract.outputs.policy.fileTypes.map((type) => type.toLowerCase());
  contract.outputs.policy.extensionless?.types.forEach((type, i) => {
    if (!EXTENSIONLESS_TYPES.includes(type))
      add(
        `$.outputs.policy.extensionless.types[${i}]`,
        `${JSON.stringify(type)} cannot be recognised from an output's content`,
        `use one of ${EXTENSIONLESS_TYPES.join(", ")}, or give such outputs an extension`,
      );
    else if (!fileTypes.includes(type))
      add(
        `$.outputs.policy.extensionless.types[${i}]`,
        `${JSON.stringify(type)} is not one of the fileTypes (${fileTypes.join(", ")}); an output without an extension may only be a type the contract allows`,
        `add ${JSON.stringify(type)} to outputs.policy.fileTypes, or remove it here`,
      );
  });
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

/** The least the fees come to over a contract: its per-contract fees (within their maximum) and every minimum. */
export function feeFloor(contract: Contract): Decimal {
  let floor = ZERO;
  for (const price of contract.business.pricing) {
    let least = price.per === "contract" ? parseDecimal(price.amount) : ZERO;
    if (price.maximum !== undefined && compare(least, parseDecimal(price.maximum)) > 0) least = parseDecimal(price.maximum);
    if (price.minimum !== undefined && compare(least, parseDecimal(price.minimum)) < 0) least = parseDecimal(price.minimum);
    floor = addDecimal(floor, least);
  }
  return floor;
}

/** What settlement and the escrow need of the business terms: caps above the floors, an escrow that can hold and pay them. */
function businessRuleProblems(contract: Contract): { path: string; message: string; fix: string }[] {
  const problems: { path: string; message: string; fix: string }[] = [];
  const add = (path: string, message: string, fix: string): void => {
    problems.push({ path, message, fix });
  };
  const business = contract.business;
  business.pricing.forEach((price, i) => {
    if (price.minimum !== undefined && price.maximum !== undefined && compare(parseDecimal(price.minimum), parseDecimal(price.maximum)) > 0)
      add(`$.business.pricing[${i}].maximum`, `is less than its minimum ${price.minimum}`, "make the maximum at least the minimum");
  });
  const outcomes = business.outcomes;
  if (outcomes?.deadline !== undefined && outcomes.deadline !== (outcomes.failed ?? "usage-only"))
    add(
      "$.business.outcomes.deadline",
      `is ${outcomes.deadline}, not what a failed run is billed (${outcomes.failed ?? "usage-only"}): the public receipt does not say whether a failed run hit its deadline (only the report sealed for the data owners does), so settlement bills both as failed`,
      "set it the same as outcomes.failed, or remove it",
    );
  const floor = feeFloor(contract);
  const shown = `${formatDecimal(floor)} ${business.currency.symbol}`;
  if (business.maximum !== undefined && compare(parseDecimal(business.maximum), floor) < 0)
    add("$.business.maximum", `is less than the fees come to at least (${shown}: per-contract fees and minimums)`, "raise the maximum or lower those fees");

  const escrow = business.escrow;
  if (escrow === undefined) return problems;
  const token = business.currency.token;
  if (token === undefined)
    add("$.business.currency.token", "is missing, but the escrow holds an ERC-20 token", "name the token's address (its decimals() must be currency.decimals)");
  if (!isChecksummedAddress(escrow.address))
    add("$.business.escrow.address", "is not an EIP-55 checksummed address", `write it as ${safeChecksum(escrow.address)}`);
  else if (token !== undefined && escrow.address.toLowerCase() === token.toLowerCase())
    add("$.business.escrow.address", "is the token's address", "name the escrow contract (datomspod escrow deploy prints it)");
  else if (escrow.address.toLowerCase() === contract.evidence.anchor.address.toLowerCase())
    add("$.business.escrow.address", "is the anchor contract's address", "name the escrow contract (datomspod escrow deploy prints it)");
  const cap = toSmallestUnit(escrow.cap, business.currency.decimals);
  if (cap === undefined)
    add(
      "$.business.escrow.cap",
      `has more decimals than the currency (${business.currency.decimals})`,
      `write it in whole units of 10^-${business.currency.decimals} ${business.currency.symbol}`,
    );
  else if (cap === 0n) add("$.business.escrow.cap", "is zero", "set the most the consumer deposits");
  else if (compare(parseDecimal(escrow.cap), floor) < 0)
    add("$.business.escrow.cap", `is less than the fees come to at least (${shown}: per-contract fees and minimums)`, "raise the cap or lower those fees");
  const expiry = parseTimestamp(escrow.expiry);
  const notAfter = parseTimestamp(business.validity.notAfter);
  if (expiry === undefined) add("$.business.escrow.expiry", "is not a real date and time", "use e.g. 2027-09-01T00:00:00Z");
  else if (notAfter !== undefined && expiry <= notAfter)
    add(
      "$.business.escrow.expiry",
      "is not after validity.notAfter: the deposit could go back to the consumer before the last run is settled",
      "set it after the validity window, leaving time to settle",
    );
  return problems;
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
