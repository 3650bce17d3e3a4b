/**
 * `datomspod algorithm`: the algorithm market (docs/algorithm-market.md). An author scaffolds and
 * publishes a package; a data owner approves it once for their datasets with limits, or revokes
 * the approval; a contract uses it by name, version and digest.
 */

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { getAddress } from "ethers";
import { InputError, VerdictError, formatIssue, type Issue } from "../../errors.js";
import { sha256Hex } from "../../contract/canonical.js";
import { parseTimestamp } from "../../contract/rules.js";
import { loadContract } from "../../contract/load.js";
import { loadProfile, profileDigest } from "../../compile/prepare.js";
import { loadEnvironment } from "../../environment/environment.js";
import { display, readJsonFile, readRegularFile, toJsonText, writeFileAtomic } from "../../repo/files.js";
import { contractFile } from "../../repo/layout.js";
import { signRecord } from "../../signatures/records.js";
import { keystoreAddress } from "../../signatures/keys.js";
import { algorithmDomainId } from "../../signatures/typed-data.js";
import {
  APPROVALS_FOLDER,
  AUTHOR_FILE,
  MANIFEST_FILE,
  PARAMETERS_FILE,
  README_FILE,
  REVOCATIONS_FOLDER,
  assertPackageRef,
  authorMessage,
  checkPackageEnvironment,
  listPackages,
  loadPackage,
  packageCode,
  packageDir,
  parameterSchema,
  verifyAuthor,
  type AlgorithmPackage,
} from "../../market/package.js";
import {
  approvalMessageOf,
  readMarketRecords,
  revocationFileName,
  revocationMessageOf,
  revokes,
  validateLimits,
  type ApprovalLimits,
  type MarketRecords,
} from "../../market/approvals.js";
import { newAjv } from "../../contract/schema.js";
import type { Command, Context } from "../command.js";
import { keyOption, stringOption } from "../options.js";

/** RFC 3339 UTC to the second, as approvals and revocations carry it. */
function second(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function load(ctx: Context, ref: string): AlgorithmPackage {
  const { name, version } = assertPackageRef(ref);
  return loadPackage(ctx.repo, name, version, { file: "command line", path: "NAME@VERSION" });
}

/** Every reason the package may not be used: author's signature, environment, parameter schema. */
function packageProblems(ctx: Context, pkg: AlgorithmPackage): Issue[] {
  const issues = verifyAuthor(pkg);
  checkPackageEnvironment(ctx.repo, pkg, issues);
  return issues;
}

type ApprovalState = "valid" | "revoked" | "expired" | "not yet valid";

function approvalState(records: MarketRecords, signer: string, now: number): ApprovalState {
  const approval = records.approvals.get(signer)!;
  if (revokes(records.revocations.get(signer), approval.approvedAt)) return "revoked";
  if (now < parseTimestamp(approval.limits.validity.notBefore)!) return "not yet valid";
  if (now > parseTimestamp(approval.limits.validity.notAfter)!) return "expired";
  return "valid";
}

export const algorithmList: Command = {
  name: ["algorithm", "list"],
  summary: "list the algorithm packages of the repository (algorithms/NAME/VERSION/) with their author, digest and approvals",
  usage: "",
  positionals: [0, 0],
  run(ctx) {
    const rows = listPackages(ctx.repo).map(({ name, version }) => {
      try {
        const pkg = loadPackage(ctx.repo, name, version);
        const problems = packageProblems(ctx, pkg);
        const records = readMarketRecords(ctx.repo, pkg);
        const states = [...records.approvals.keys()].map((signer) => approvalState(records, signer, ctx.now.getTime()));
        return {
          package: pkg.ref,
          author: pkg.manifest.author,
          digest: `sha256:${pkg.digest}`,
          published: problems.length === 0,
          approvals: states.filter((s) => s === "valid").length,
          revoked: states.filter((s) => s === "revoked").length,
          problems: problems.map(formatIssue),
        };
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        return {
          package: `${name}@${version}`,
          author: null,
          digest: null,
          published: false,
          approvals: 0,
          revoked: 0,
          problems: error.issues.map(formatIssue),
        };
      }
    });
    const lines = rows.map(
      (r) =>
        `${r.package}  ${r.published ? "published" : "NOT USABLE"}  author ${r.author ?? "-"}  ${r.digest ?? "-"}  ${r.approvals} approval${r.approvals === 1 ? "" : "s"}${r.revoked > 0 ? `, ${r.revoked} revoked` : ""}`,
    );
    ctx.emit({ packages: rows }, rows.length === 0 ? "no algorithm packages under algorithms/ (datomspod algorithm new NAME@VERSION ...)" : lines.join("\n"));
    return 0;
  },
};

export const algorithmShow: Command = {
  name: ["algorithm", "show"],
  summary: "show a package: its manifest, every file and its sha256, the digest, the author's signature and each data owner's approval with its limits",
  usage: "NAME@VERSION",
  positionals: [1, 1],
  run(ctx, [ref = ""]) {
    const pkg = load(ctx, ref);
    const problems = packageProblems(ctx, pkg);
    const records = readMarketRecords(ctx.repo, pkg);
    const approvals = [...records.approvals.values()].map((a) => ({
      signer: a.signer,
      file: a.file,
      chainId: a.chainId,
      approvedAt: a.approvedAt,
      state: approvalState(records, a.signer, ctx.now.getTime()),
      limits: a.limits,
    }));
    const revocations = [...records.revocations.values()];
    const m = pkg.manifest;
    const text = [
      `${pkg.ref}: ${m.title}`,
      `  digest       sha256:${pkg.digest}`,
      `  author       ${m.author} (${problems.length === 0 ? "signed, environment unchanged" : "NOT USABLE"})`,
      `  environment  ${m.environment.name} ${m.environment.digest}`,
      `  entrypoint   ${m.entrypoint}`,
      `  code         ${m.code}`,
      ...Object.entries(pkg.files).map(([path, sha]) => `  file         ${path}  sha256:${sha}`),
      ...problems.map((issue) => `  problem      ${formatIssue(issue)}`),
      ...approvals.map(
        (a) =>
          `  approval     ${a.signer} ${a.state} (approved ${a.approvedAt}; datasets ${a.limits.datasets.join(", ")}; scenarios ${a.limits.scenarios.join(", ")}; clusters ${a.limits.clusters.map((c) => c.name).join(", ")}; ${a.limits.validity.notBefore} to ${a.limits.validity.notAfter}${a.limits.parameters === undefined ? "" : `; parameters ${JSON.stringify(a.limits.parameters)}`})`,
      ),
      ...revocations.map((r) => `  revocation   ${r.signer} at ${r.revokedAt}${r.reason ? `: ${r.reason}` : ""}`),
      ...records.issues.map((issue) => `  not counted  ${formatIssue(issue)}`),
    ].join("\n");
    ctx.emit(
      {
        package: pkg.ref,
        digest: `sha256:${pkg.digest}`,
        manifest: m,
        files: pkg.files,
        problems,
        approvals,
        revocations,
        notCounted: records.issues,
      },
      text,
    );
    return 0;
  },
};

const README_TEMPLATE = (pkg: { ref: string; title: string }): string =>
  [
    `# ${pkg.ref}: ${pkg.title}`,
    "",
    "What the algorithm computes, from which inputs (columns, files), and what it writes to /data/outputs.",
    "",
    "## Parameters",
    "",
    `See ${PARAMETERS_FILE}.`,
    "",
    "## What leaves",
    "",
    "What a data owner should know before approving: aggregation thresholds, what is never written out.",
    "",
  ].join("\n");

/** The author named on the command line: an address, or a keystore whose address is read without its password. */
function authorAddress(cwd: string, text: string): string {
  if (!text.startsWith("0x") && existsSync(resolve(cwd, text))) return getAddress(keystoreAddress(resolve(cwd, text)));
  try {
    return getAddress(text.toLowerCase());
  } catch {
    throw InputError.of({
      file: "command line",
      path: "--author",
      message: `${JSON.stringify(text)} is neither an Ethereum address nor a keystore file`,
      fix: "pass the author's address or keystore (datomspod keys show --key FILE prints the address)",
    });
  }
}

export const algorithmNew: Command = {
  name: ["algorithm", "new"],
  summary: "scaffold a package algorithms/NAME/VERSION/ from a code file: manifest, parameter schema, README",
  usage: "NAME@VERSION --code FILE --environment ENV --author ADDRESS|KEYSTORE [--entrypoint CMD] [--title TEXT]",
  help: [
    "Copies the code file into the package and writes algorithm.json (pinning the environment's current digest),",
    "an open parameters.schema.json and a README.md to fill in. Then: datomspod algorithm publish NAME@VERSION --key FILE.",
    "--author is the author's address, or their keystore file (its address is read without the password).",
  ].join("\n"),
  options: { code: { type: "string" }, environment: { type: "string" }, author: { type: "string" }, entrypoint: { type: "string" }, title: { type: "string" } },
  positionals: [1, 1],
  run(ctx, [ref = ""], values) {
    const { name, version } = assertPackageRef(ref);
    const dir = packageDir(ctx.repo, name, version);
    if (existsSync(dir))
      throw InputError.of({
        file: display(ctx.repo, dir),
        path: "$",
        message: "already exists",
        fix: "a published version never changes: choose a new version",
      });
    const codePath = resolve(ctx.cwd, stringOption(values, "code", true));
    const codeName = codePath.split(/[\\/]/).pop()!;
    if (!/^(?!\.\.?$)[A-Za-z0-9._-]+$/.test(codeName) || [MANIFEST_FILE, PARAMETERS_FILE, README_FILE, AUTHOR_FILE].includes(codeName))
      throw InputError.of({
        file: "command line",
        path: "--code",
        message: `${JSON.stringify(codeName)} cannot be the code file's name`,
        fix: "rename the file, e.g. main.py",
      });
    readRegularFile(codePath, codePath);
    const envName = stringOption(values, "environment", true);
    const environment = loadEnvironment(ctx.repo, envName, { file: "command line", path: "--environment" });
    const author = authorAddress(ctx.cwd, stringOption(values, "author", true));
    const interpreter = environment.definition.interpreters[0]?.command ?? "python3";
    const title = stringOption(values, "title") ?? name;
    const manifest = {
      $schema: "../../algorithm.schema.json",
      name,
      version,
      title,
      description: title,
      author,
      environment: { name: environment.name, digest: `sha256:${environment.digest}` },
      entrypoint: stringOption(values, "entrypoint") ?? `${interpreter} $ALGO`,
      code: codeName,
    };
    mkdirSync(dir, { recursive: true });
    copyFileSync(codePath, join(dir, codeName));
    writeFileAtomic(
      join(dir, PARAMETERS_FILE),
      toJsonText({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", properties: {}, additionalProperties: true }),
    );
    writeFileAtomic(join(dir, README_FILE), README_TEMPLATE({ ref: `${name}@${version}`, title }));
    writeFileAtomic(join(dir, MANIFEST_FILE), toJsonText(manifest));
    ctx.emit(
      { dir: display(ctx.repo, dir), manifest },
      `wrote ${display(ctx.repo, dir)}/: describe the parameters and the README, then the author signs it: datomspod algorithm publish ${name}@${version} --key FILE`,
    );
    return 0;
  },
};

export const algorithmPublish: Command = {
  name: ["algorithm", "publish"],
  summary: "sign a package as its author: author.json, an EIP-712 signature over the digest of every file",
  usage: "NAME@VERSION --key FILE [--chain-id N]",
  help: "Refused when the key is not the manifest's author, the environment changed since the manifest pinned it, the parameter schema is not one, or the version was already published with other contents.",
  options: { key: { type: "string" }, "chain-id": { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [ref = ""], values) {
    const pkg = load(ctx, ref);
    const issues: Issue[] = [];
    checkPackageEnvironment(ctx.repo, pkg, issues);
    try {
      newAjv().compile(parameterSchema(pkg) as object);
    } catch (error) {
      if (error instanceof InputError) issues.push(...error.issues);
      else
        issues.push({
          file: `${pkg.subject}${PARAMETERS_FILE}`,
          path: "$",
          message: `is not a valid JSON Schema: ${(error as Error).message}`,
          fix: "correct it",
        });
    }
    packageCode(pkg);
    if (existsSync(join(pkg.dir, AUTHOR_FILE))) {
      const signed = verifyAuthor(pkg);
      if (signed.some((issue) => issue.path === "$.message.packageDigest"))
        issues.push({
          file: `${pkg.subject}${AUTHOR_FILE}`,
          path: "$",
          message: `${pkg.ref} was published with other contents; a published version never changes`,
          fix: "restore its files from git, or publish the change as a new version",
        });
    }
    if (issues.length > 0) throw InputError.many(`${pkg.ref} cannot be published`, issues);
    const { file: keyFile, wallet } = await keyOption(ctx, values);
    if (getAddress(wallet.address) !== pkg.manifest.author)
      throw InputError.of({
        file: keyFile,
        path: "$",
        message: `key ${wallet.address} is not the author ${pkg.manifest.author} of ${pkg.ref}`,
        fix: "publish with the author's key",
      });
    const chainId = chainIdOption(values);
    const record = await signRecord(wallet, "package", algorithmDomainId(pkg.name, pkg.version), chainId, authorMessage(pkg));
    const path = join(pkg.dir, AUTHOR_FILE);
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file: display(ctx.repo, path), package: pkg.ref, digest: `sha256:${pkg.digest}`, author: record.signer },
      `${record.signer} published ${pkg.ref} (sha256:${pkg.digest}): ${display(ctx.repo, path)}`,
    );
    return 0;
  },
};

function chainIdOption(values: Record<string, unknown>): number {
  const text = stringOption(values as never, "chain-id") ?? "31337";
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw InputError.of({
      file: "command line",
      path: "--chain-id",
      message: `${JSON.stringify(text)} is not a chain id`,
      fix: "pass the contracts' chainId, e.g. 31337",
    });
  return value;
}

/**
 * The limits as a data owner writes them (clusters by name) made into what is signed (each
 * cluster with the digest of its profile now, which the owner reviewed).
 */
function signedLimits(ctx: Context, file: string): ApprovalLimits {
  const shown = display(ctx.repo, file);
  const value = readJsonFile(file, shown, 64 * 1024) as Record<string, unknown>;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw InputError.of({ file: shown, path: "$", message: "is not a JSON object", fix: "write the limits as in docs/algorithm-market.md" });
  const clusters = Array.isArray(value["clusters"])
    ? (value["clusters"] as unknown[]).map((entry, i) => {
        if (typeof entry !== "string") return entry;
        const profile = loadProfile(ctx.repo, entry);
        if (profile === undefined)
          throw InputError.of({
            file: shown,
            path: `$.clusters[${i}]`,
            message: `no cluster profile clusters/${entry}/cluster.yaml`,
            fix: "name a cluster of the repository",
          });
        return { name: entry, profileDigest: `sha256:${profileDigest(profile)}` };
      })
    : value["clusters"];
  const limits = { ...value, clusters };
  const issues = validateLimits(limits, shown, "$");
  if (issues.length > 0) throw InputError.many(`${shown}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`, issues);
  return limits as unknown as ApprovalLimits;
}

export const algorithmApprove: Command = {
  name: ["algorithm", "approve"],
  summary: "approve a package once, as a data owner, for your datasets within limits (scenarios, clusters, parameter ranges, validity)",
  usage: "NAME@VERSION --key FILE --limits FILE [--chain-id N]",
  help: [
    "Writes algorithms/NAME/VERSION/approvals/ADDRESS.json: an EIP-712 signature over the package digest, the limits and the time.",
    'The limits file: {"datasets": [DID...], "scenarios": [NAME...], "clusters": [NAME...], "parameters": {NAME: {"minimum": N,',
    '"maximum": N, "enum": [...]}}, "validity": {"notBefore": TIME, "notAfter": TIME}}; each cluster is signed with its profile\'s digest.',
    "Contracts that use the package within the limits need no approval of their own from you.",
  ].join("\n"),
  options: { key: { type: "string" }, limits: { type: "string" }, "chain-id": { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [ref = ""], values) {
    const pkg = load(ctx, ref);
    const problems = packageProblems(ctx, pkg);
    if (problems.length > 0) throw new VerdictError(`${pkg.ref} cannot be approved: it is not a published package as it stands`, problems);
    const limits = signedLimits(ctx, resolve(ctx.cwd, stringOption(values, "limits", true)));
    const { wallet } = await keyOption(ctx, values);
    const approvedAt = second(ctx.now);
    const record = await signRecord(
      wallet,
      "packageApproval",
      algorithmDomainId(pkg.name, pkg.version),
      chainIdOption(values),
      approvalMessageOf(pkg, limits, approvedAt),
      {
        limits: limits as unknown as Record<string, unknown>,
      },
    );
    const path = join(pkg.dir, APPROVALS_FOLDER, `${record.signer}.json`);
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file: display(ctx.repo, path), package: pkg.ref, digest: `sha256:${pkg.digest}`, signer: record.signer, approvedAt, limits },
      [
        `${record.signer} approved ${pkg.ref} (sha256:${pkg.digest}): ${display(ctx.repo, path)}`,
        `  datasets   ${limits.datasets.join(", ")}`,
        `  scenarios  ${limits.scenarios.join(", ")}`,
        `  clusters   ${limits.clusters.map((c) => `${c.name} (profile ${c.profileDigest})`).join(", ")}`,
        `  parameters ${limits.parameters === undefined ? "(as the package allows)" : JSON.stringify(limits.parameters)}`,
        `  valid      ${limits.validity.notBefore} to ${limits.validity.notAfter}`,
      ].join("\n"),
    );
    return 0;
  },
};

export const algorithmRevoke: Command = {
  name: ["algorithm", "revoke"],
  summary: "revoke your approval of a package: every future check, compile and run of a contract that relied on it is refused",
  usage: "NAME@VERSION --key FILE [--reason TEXT]",
  help: "Writes algorithms/NAME/VERSION/revocations/ADDRESS.TIME.json. It voids each approval you gave the package at or before now; past runs stay verifiable.",
  options: { key: { type: "string" }, reason: { type: "string" }, "chain-id": { type: "string" } },
  positionals: [1, 1],
  async run(ctx, [ref = ""], values) {
    const pkg = load(ctx, ref);
    const { wallet } = await keyOption(ctx, values);
    const revokedAt = second(ctx.now);
    const reason = stringOption(values, "reason") ?? "";
    const record = await signRecord(
      wallet,
      "packageRevocation",
      algorithmDomainId(pkg.name, pkg.version),
      chainIdOption(values),
      revocationMessageOf(pkg, revokedAt, reason),
    );
    const path = join(pkg.dir, REVOCATIONS_FOLDER, revocationFileName(record.signer, revokedAt));
    writeFileAtomic(path, toJsonText(record));
    ctx.emit(
      { file: display(ctx.repo, path), package: pkg.ref, signer: record.signer, revokedAt },
      `${record.signer} revoked their approval of ${pkg.ref} at ${revokedAt}: ${display(ctx.repo, path)}`,
    );
    return 0;
  },
};

export const algorithmUse: Command = {
  name: ["algorithm", "use"],
  summary: "make a contract's algorithm a package: its name, version and digest, environment, image, entrypoint and code entry",
  usage: "NAME@VERSION CONTRACT_ID",
  help: "Rewrites contracts/CONTRACT_ID/contract.json (every party signs it again). The code is not copied: compile reads it from the package.",
  positionals: [2, 2],
  run(ctx, [ref = "", id = ""]) {
    const pkg = load(ctx, ref);
    const problems = packageProblems(ctx, pkg);
    if (problems.length > 0) throw new VerdictError(`${pkg.ref} cannot be used: it is not a published package as it stands`, problems);
    const loaded = loadContract(ctx.repo, id);
    const environment = loadEnvironment(ctx.repo, pkg.manifest.environment.name, { file: `${pkg.subject}${MANIFEST_FILE}`, path: "$.environment.name" });
    const image = environment.definition.image;
    if (image.digest === undefined)
      throw InputError.of({
        file: `${environment.subject}environment.json`,
        path: "$.image.digest",
        message: "is not pinned",
        fix: `datomspod env build ${environment.name} --pin`,
      });
    const code = packageCode(pkg);
    const algorithm = {
      ...loaded.contract.inputs.algorithm,
      package: { name: pkg.name, version: pkg.version, digest: `sha256:${pkg.digest}` },
      environment: environment.name,
      container: { image: image.repository, tag: image.tag, digest: image.digest, entrypoint: pkg.manifest.entrypoint },
      code: { packageFile: pkg.manifest.code, sha256: sha256Hex(code), size: code.length },
    };
    const contract = { ...loaded.contract, inputs: { ...loaded.contract.inputs, algorithm } };
    const path = contractFile(ctx.repo, id);
    writeFileAtomic(path, toJsonText(contract));
    ctx.emit(
      { file: display(ctx.repo, path), package: algorithm.package },
      `${display(ctx.repo, path)} now uses ${pkg.ref} (sha256:${pkg.digest}); every party signs the contract again (datomspod contract sign ${id} --key FILE)`,
    );
    return 0;
  },
};
