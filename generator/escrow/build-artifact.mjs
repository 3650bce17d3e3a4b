#!/usr/bin/env node
/**
 * Compiles generator/escrow/Escrow.sol and LocalToken.sol with solc-js (npm `solc`, pinned) against
 * the pinned @openzeppelin/contracts, and writes their ABI and bytecode to
 * generator/escrow/escrow-artifact.json, so that nothing at run time needs a compiler (the same
 * mechanism as generator/anchor/build-artifact.mjs). Deterministic: fixed compiler settings, sorted
 * keys, LF, trailing newline. The escrow's address on a chain is a CREATE2 address of this bytecode,
 * so the address the parties sign names the exact code.
 *
 *   node generator/escrow/build-artifact.mjs          write the artifact (part of `npm run build`)
 *   node generator/escrow/build-artifact.mjs --check  exit 1 when the committed artifact differs
 */

import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACT = join(HERE, "escrow-artifact.json");
const CONTRACTS = [
  ["Escrow.sol", "Escrow"],
  ["LocalToken.sol", "LocalToken"],
];
const require = createRequire(import.meta.url);
const OPENZEPPELIN = "@openzeppelin/contracts";
const openzeppelinRoot = dirname(require.resolve(`${OPENZEPPELIN}/package.json`));
const openzeppelinVersion = JSON.parse(readFileSync(join(openzeppelinRoot, "package.json"), "utf8")).version;

/** Fixed compiler settings: changing any of them changes the bytecode, so they are recorded too. */
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: Object.fromEntries(
    CONTRACTS.map(([source, name]) => [source, { [name]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "devdoc", "userdoc"] }]),
  ),
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

/** Resolves `@openzeppelin/contracts/...` imports from the pinned package; nothing else is importable. */
function findImports(path) {
  if (!path.startsWith(`${OPENZEPPELIN}/`) || path.includes("..")) return { error: `import ${path} is not allowed` };
  try {
    return { contents: readFileSync(join(openzeppelinRoot, path.slice(OPENZEPPELIN.length + 1)), "utf8") };
  } catch {
    return { error: `import ${path} not found in ${OPENZEPPELIN}@${openzeppelinVersion}` };
  }
}

function compile() {
  const sources = Object.fromEntries(CONTRACTS.map(([source]) => [source, { content: readFileSync(join(HERE, source), "utf8") }]));
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  // Errors fail the build, and so do warnings about our own sources (the pinned library's are its own).
  const problems = (output.errors ?? []).filter((e) => e.severity === "error" || !String(e.sourceLocation?.file ?? "").startsWith(`${OPENZEPPELIN}/`));
  if (problems.length > 0) {
    for (const e of problems) process.stderr.write(`${e.formattedMessage}\n`);
    process.exit(1);
  }
  const contracts = {};
  for (const [source, name] of CONTRACTS) {
    const contract = output.contracts[source][name];
    contracts[name] = {
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      devdoc: contract.devdoc,
      source: `generator/escrow/${source}`,
      sourceSha256: createHash("sha256").update(sources[source].content).digest("hex"),
      userdoc: contract.userdoc,
    };
  }
  const artifact = {
    compiler: { name: "solc-js", settings: { evmVersion: SETTINGS.evmVersion, optimizer: SETTINGS.optimizer }, version: solc.version() },
    contracts,
    libraries: { [OPENZEPPELIN]: openzeppelinVersion },
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
    process.stderr.write(
      "generator/escrow/escrow-artifact.json is out of date with Escrow.sol/LocalToken.sol (fix: npm run build:contracts, then commit it)\n",
    );
    process.exit(1);
  }
  process.stdout.write("generator/escrow/escrow-artifact.json is up to date\n");
} else {
  const temp = `${ARTIFACT}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, ARTIFACT);
}
