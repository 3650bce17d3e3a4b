#!/usr/bin/env node
/**
 * Compiles generator/anchor/Anchor.sol with solc-js (npm `solc`, pinned) and writes its ABI and
 * bytecode to generator/anchor/anchor-artifact.json, so that nothing at run time needs a compiler.
 * The output is deterministic: fixed compiler settings, sorted keys, LF, trailing newline.
 *
 *   node generator/anchor/build-artifact.mjs          write the artifact (part of `npm run build`)
 *   node generator/anchor/build-artifact.mjs --check  exit 1 when the committed artifact differs
 */

import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE_NAME = "Anchor.sol";
const CONTRACT_NAME = "Anchor";
const ARTIFACT = join(HERE, "anchor-artifact.json");

/** Fixed compiler settings: changing any of them changes the bytecode, so they are recorded too. */
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { [SOURCE_NAME]: { [CONTRACT_NAME]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "devdoc", "userdoc"] } },
};

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

function compile() {
  const source = readFileSync(join(HERE, SOURCE_NAME), "utf8");
  const input = { language: "Solidity", sources: { [SOURCE_NAME]: { content: source } }, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  const warnings = (output.errors ?? []).filter((e) => e.severity !== "error");
  if (errors.length > 0 || warnings.length > 0) {
    // Warnings fail the build as well: the contract is small enough to have none.
    for (const e of [...errors, ...warnings]) process.stderr.write(`${e.formattedMessage}\n`);
    process.exit(1);
  }
  const contract = output.contracts[SOURCE_NAME][CONTRACT_NAME];
  const artifact = {
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    compiler: { name: "solc-js", settings: { evmVersion: SETTINGS.evmVersion, optimizer: SETTINGS.optimizer }, version: solc.version() },
    contractName: CONTRACT_NAME,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
    devdoc: contract.devdoc,
    source: `generator/anchor/${SOURCE_NAME}`,
    sourceSha256: createHash("sha256").update(source).digest("hex"),
    userdoc: contract.userdoc,
  };
  return `${JSON.stringify(sortKeys(artifact), null, 2)}\n`;
}

const text = compile();
if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(ARTIFACT, "utf8");
  } catch {
    committed = "";
  }
  if (committed !== text) {
    process.stderr.write("generator/anchor/anchor-artifact.json is out of date with Anchor.sol (fix: npm run build:contracts, then commit it)\n");
    process.exit(1);
  }
  process.stdout.write("generator/anchor/anchor-artifact.json is up to date\n");
} else {
  const temp = `${ARTIFACT}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, ARTIFACT);
}
