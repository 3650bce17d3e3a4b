import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ExitCode, InputError, VerdictError, formatIssue } from "../../errors.js";
import { loadContract, checkAlgorithmCode, type LoadedContract } from "../../contract/load.js";
import { fillContract } from "../../contract/fill.js";
import { prepareContract, type ApprovalSubject } from "../../compile/prepare.js";
import { TEMPLATES, templateContract, type TemplateName } from "../../contract/templates.js";
import { findParty, requiredApprovers } from "../../contract/rules.js";
import type { Contract } from "../../contract/types.generated.js";
import { loadEnvironment, type Environment } from "../../environment/environment.js";
import { gatherFacts } from "../../lifecycle/facts.js";
import { display, toJsonText, writeFileAtomic } from "../../repo/files.js";
import { assertContractId, contractDir, contractFile, listContractIds } from "../../repo/layout.js";
import { signRecord } from "../../signatures/records.js";
import { typedDataDigest, typedDataJson } from "../../signatures/typed-data.js";
import { agreementMessage, approvalMessage, verifyAgreements, type Verification } from "../../signatures/verify.js";
import type { Command, Context } from "../command.js";
import { evaluationTime, keyOption, stringOption } from "../options.js";

/** What an approval of the contract covers now; refused with the reasons when it cannot be determined. */
function approvalSubjectOf(repo: string, loaded: LoadedContract): ApprovalSubject {
  const { prepared, issues } = prepareContract(repo, loaded);
  if (prepared === undefined) throw InputError.many(`what an approval of ${loaded.id} would cover cannot be determined`, issues);
  return prepared.subject;
}

/**
 * Copies `contracts/FROM/algorithm/` to `contracts/ID/algorithm/` through a temporary folder, so
 * that the copy is either whole or absent. Returns the files copied (relative to the contract).
 */
function copyAlgorithm(repo: string, from: string, id: string): string[] {
  const source = join(contractDir(repo, from), "algorithm");
  if (!existsSync(source)) return [];
  const target = join(contractDir(repo, id), "algorithm");
  mkdirSync(contractDir(repo, id), { recursive: true });
  const temp = join(contractDir(repo, id), `.algorithm.${randomBytes(6).toString("hex")}.tmp`);
  try {
    // loadContract(from) refused symbolic links anywhere in the source folder.
    cpSync(source, temp, { recursive: true, errorOnExist: true, force: false });
    renameSync(temp, target);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return readdirSync(target, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => display(contractDir(repo, id), join(entry.parentPath, entry.name)))
    .sort();
}

export const contractNew: Command = {
  name: ["contract", "new"],
  summary: "scaffold contracts/ID/contract.json",
  usage: "ID [--from TEMPLATE]",
  help: [
    `TEMPLATE is a built-in template (${TEMPLATES.join(", ")}; default aggregate-statistics) or the id of a contract in the`,
    "repository to copy: its contract.json and its algorithm/ folder (not its signatures, approvals, runs or receipts).",
  ].join("\n"),
  options: { from: { type: "string" } },
  positionals: [1, 1],
  run(ctx, [id = ""], values) {
    assertContractId(id);
    const path = contractFile(ctx.repo, id);
    const algorithmDir = join(contractDir(ctx.repo, id), "algorithm");
    for (const existing of [path, algorithmDir]) {
      if (existsSync(existing))
        throw InputError.of({
          file: display(ctx.repo, existing),
          path: "$",
          message: "already exists",
          fix: "choose another id; an existing contract is never overwritten",
        });
    }
    const from = stringOption(values, "from") ?? "aggregate-statistics";
    let contract: Contract;
    let copied: string[] = [];
    if ((TEMPLATES as readonly string[]).includes(from)) contract = templateContract(from as TemplateName, id, ctx.now);
    else if (listContractIds(ctx.repo).includes(from)) {
      contract = { ...loadContract(ctx.repo, from).contract, id };
      copied = copyAlgorithm(ctx.repo, from, id);
    } else {
      throw InputError.of({
        file: "command line",
        path: "--from",
        message: `${JSON.stringify(from)} is neither a template nor a contract in this repository`,
        fix: `use one of ${TEMPLATES.join(", ")} or an existing contract id`,
      });
    }
    writeFileAtomic(path, toJsonText(contract));
    ctx.emit(
      { file: display(ctx.repo, path), algorithm: copied.map((name) => `contracts/${id}/${name}`) },
      [
        copied.length === 0 && (TEMPLATES as readonly string[]).includes(from)
          ? `wrote ${display(ctx.repo, path)}: replace the placeholder parties, data and algorithm, then have every party run \`datomspod contract sign ${id} --key FILE\``
          : `wrote ${display(ctx.repo, path)}, a copy of ${from}: edit the parties, data and algorithm, run \`datomspod contract fill ${id}\`, then have every party run \`datomspod contract sign ${id} --key FILE\``,
        ...copied.map((name) => `copied contracts/${from}/${name} to contracts/${id}/${name}`),
      ].join("\n"),
    );
    return 0;
  },
};

export const contractFill: Command = {
  name: ["contract", "fill"],
  summary: "fill the sha256 and size of the data files and the algorithm code into contracts/ID/contract.json",
  usage: "ID",
  help: [
    "Reads every data file where its dataset's location says (a hostPath folder on this machine; other locations are refused:",
    "fill those by hand where the data is) and the algorithm code under contracts/ID/, and writes their sha256 and size into",
    "the contract. Every file that cannot be read is reported and nothing is written. A change makes a new contract: the",
    "signatures and approvals made before no longer count (they are listed, never deleted); every party signs again.",
  ].join("\n"),
  positionals: [1, 1],
  run(ctx, [id = ""]) {
    assertContractId(id);
    const result = fillContract(ctx.repo, id);
    const lines = [
      ...result.changed.map((f) => `filled   ${f.path}  ${f.after.sha256}  ${f.after.size} bytes  (${f.file})`),
      ...result.unchanged.map((f) => `correct  ${f.path}  (${f.file})`),
    ];
    if (result.changed.length === 0) lines.push(`${result.file} already holds every digest; nothing was written`);
    else {
      lines.push(`wrote ${result.file}: the contract hash is now ${result.hashAfter} (was ${result.hashBefore})`);
      if (result.invalidated.length > 0) {
        lines.push(
          `the contract changed, so these ${result.invalidated.length} records were made over the old version and no longer count (kept, not deleted):`,
          ...result.invalidated.map((file) => `  ${file}`),
          `every party signs again: datomspod contract sign ${id} --key FILE; the data owners approve again: datomspod approve ${id} --key FILE`,
        );
      }
    }
    ctx.emit(
      {
        file: result.file,
        changed: result.changed.map((f) => ({ path: f.path, file: f.file, sha256: f.after.sha256, size: f.after.size })),
        unchanged: result.unchanged.map((f) => f.path),
        hash: result.hashAfter,
        previousHash: result.hashBefore,
        invalidated: result.invalidated,
      },
      lines.join("\n"),
    );
    return 0;
  },
};

export const contractHash: Command = {
  name: ["contract", "hash"],
  summary: "print the canonical sha256 and the EIP-712 digest",
  usage: "ID",
  positionals: [1, 1],
  run(ctx, [id = ""]) {
    const loaded = loadContract(ctx.repo, id);
    const eip712 = typedDataDigest("agreement", loaded.id, loaded.contract.chainId, agreementMessage(loaded.contract, loaded.hash));
    ctx.emit({ id, sha256: loaded.hash, eip712 }, `sha256  ${loaded.hash}\neip712  ${eip712}`);
    return 0;
  },
};

export const contractTypedData: Command = {
  name: ["contract", "typed-data"],
  summary: "print the EIP-712 JSON a wallet signs (eth_signTypedData_v4)",
  usage: "ID [--approval]",
  help: "With --approval, the typed data of the algorithm approval instead of the agreement.",
  options: { approval: { type: "boolean" } },
  positionals: [1, 1],
  run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const kind = values["approval"] === true ? "approval" : "agreement";
    const message = kind === "approval" ? approvalMessage(approvalSubjectOf(ctx.repo, loaded)) : agreementMessage(loaded.contract, loaded.hash);
    ctx.out(`${JSON.stringify(typedDataJson(kind, loaded.id, loaded.contract.chainId, message), null, 2)}\n`);
    return 0;
  },
};

export const contractSign: Command = {
  name: ["contract", "sign"],
  summary: "sign the contract as a party; writes contracts/ID/signatures/ADDRESS.json",
  usage: "ID --key FILE",
  options: { key: { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const { file: keyFile, wallet } = await keyOption(ctx, values);
    const party = findParty(loaded.contract, wallet.address);
    if (party === undefined) {
      throw InputError.of({
        file: keyFile,
        path: "$",
        message: `key ${wallet.address} is not a party of contract ${id}`,
        fix: "sign with a party's key, or add the party to the contract first",
      });
    }
    const record = await signRecord(wallet, "agreement", loaded.id, loaded.contract.chainId, agreementMessage(loaded.contract, loaded.hash));
    const path = join(loaded.dir, "signatures", `${record.signer}.json`);
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file: display(ctx.repo, path), signer: record.signer, role: party.role },
      `${party.role} ${record.signer} signed ${id}: ${display(ctx.repo, path)}`,
    );
    return 0;
  },
};

function printVerification(ctx: Context, title: string, verification: Verification): void {
  const lines = [title, ...verification.parties.map((p) => `  ${p.status.padEnd(8)} ${p.role.padEnd(18)} ${p.address}  ${p.name}`)];
  if (verification.issues.length > 0) lines.push(...verification.issues.map((issue) => `  - ${formatIssue(issue)}`));
  ctx.out(`${lines.join("\n")}\n`);
}

export const contractVerify: Command = {
  name: ["contract", "verify"],
  summary: "exit 0 only when every party signed the current contract validly",
  usage: "ID",
  positionals: [1, 1],
  run(ctx, [id = ""]) {
    const loaded = loadContract(ctx.repo, id);
    const verification = verifyAgreements(ctx.repo, loaded);
    if (ctx.format === "json") ctx.out(`${JSON.stringify({ id, sha256: loaded.hash, ...verification }, null, 2)}\n`);
    else printVerification(ctx, `${id} ${loaded.hash}: ${verification.ok ? "all parties signed" : "NOT fully signed"}`, verification);
    if (!verification.ok) {
      const summary = `contract ${id} is not validly signed by every party`;
      // --format json: the document above is the one JSON answer on stdout; the verdict goes to stderr.
      if (ctx.format === "json") {
        ctx.err(`error: ${summary}\n`);
        return ExitCode.verdict;
      }
      throw new VerdictError(summary, verification.issues);
    }
    return 0;
  },
};

export const contractStatus: Command = {
  name: ["contract", "status"],
  summary: "print the lifecycle state derived from the files and the clock",
  usage: "ID [--at TIME]",
  help: "--at evaluates the state at an RFC 3339 time instead of now (for audits).",
  options: { at: { type: "string" } },
  positionals: [1, 1],
  run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const now = evaluationTime(ctx, values).getTime();
    const { state, facts, agreements, approvals, issues } = gatherFacts(ctx.repo, loaded, now);
    const summary = {
      id,
      state,
      at: new Date(now).toISOString(),
      signed: facts.signed,
      approved: facts.approved,
      runs: facts.runs,
      issues: [...agreements.issues, ...approvals.issues, ...issues],
    };
    // Approvals a contract inherits from its algorithm package (the market), said where they come from.
    const pkg = loaded.contract.inputs.algorithm.package;
    const inherited = approvals.parties
      .filter((party) => party.via?.includes("package") === true)
      .map((party) => ({ address: party.address, role: party.role, file: `algorithms/${pkg?.name}/${pkg?.version}/approvals/${party.address}.json` }));
    const shown = inherited.length === 0 ? summary : { ...summary, inherited };
    const text = [
      `${id}: ${state}`,
      ...inherited.map((party) => `  approval of ${party.role} ${party.address} inherited from ${party.file}`),
      ...summary.issues.map((issue) => `  - ${formatIssue(issue)}`),
    ].join("\n");
    ctx.emit(shown, text);
    return 0;
  },
};

/** What the approved environment installs: its package count, lock digest and packages (`datomspod env show` lists them). */
function packagesLine(environment: Environment): string {
  if (environment.packages.length === 0) return "  packages     none beyond the base image's";
  const names = environment.packages.map((p) => `${p.name}==${p.version}`);
  return `  packages     ${names.length} locked (${environment.definition.packages?.lock ?? "lock"} sha256:${environment.lockSha256 ?? ""}): ${names.join(" ")}`;
}

export const approve: Command = {
  name: ["approve"],
  summary: "approve exactly what will run (code, image, entrypoint, environment, cluster profile, role image, instance) as a data provider or witness",
  usage: "ID --key FILE",
  help: [
    "Writes contracts/ID/approvals/ADDRESS.json: an EIP-712 signature over the code's sha256, the image and its digest, the",
    "entrypoint as it runs, the environment and its digest (its locked packages), the cluster profile's digest, the role image",
    "and the digest of the rendered instance. It prints each of them first. A change to any of them afterwards voids the approval.",
  ].join("\n"),
  options: { key: { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [id = ""], values) {
    const loaded = loadContract(ctx.repo, id);
    const codeIssues = checkAlgorithmCode(ctx.repo, loaded);
    if (codeIssues.length > 0) throw InputError.many(`the algorithm of ${id} cannot be approved`, codeIssues);
    const { file: keyFile, wallet } = await keyOption(ctx, values);
    const party = findParty(loaded.contract, wallet.address);
    if (party === undefined || !requiredApprovers(loaded.contract).includes(party)) {
      throw InputError.of({
        file: keyFile,
        path: "$",
        message: `key ${wallet.address} is not a data provider or witness of ${id}`,
        fix: "approve with the key of a provider or the witness",
      });
    }
    const subject = approvalSubjectOf(ctx.repo, loaded);
    const environment = loadEnvironment(ctx.repo, subject.environment, { file: loaded.file, path: "$.inputs.algorithm.environment" });
    const record = await signRecord(wallet, "approval", loaded.id, loaded.contract.chainId, approvalMessage(subject));
    const path = join(loaded.dir, "approvals", `${record.signer}.json`);
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file: display(ctx.repo, path), signer: record.signer, role: party.role, approved: subject, packages: environment.packages },
      [
        `${party.role} ${record.signer} approved what runs for ${id}: ${display(ctx.repo, path)}`,
        `  code         sha256:${subject.codeSha256}`,
        `  image        ${subject.image}`,
        `  entrypoint   ${subject.entrypoint}`,
        `  environment  ${subject.environment} sha256:${subject.environmentDigest}`,
        packagesLine(environment),
        `  cluster      ${subject.cluster} (profile sha256:${subject.clusterProfileDigest})`,
        `  role image   ${subject.roleImageDigest}`,
        `  instance     sha256:${subject.instanceDigest}`,
      ].join("\n"),
    );
    return 0;
  },
};
