/**
 * `npm run build`'s last step: the `datomspod` executable and the pod image's roles as a bundle
 * (dist/bundle/), made by esbuild from the compiled modules in dist/generator. Node resolved,
 * read and compiled about 300 modules for `datomspod run`, 0.15–0.25 s before the command's first
 * instruction, and a role container paid the same for its 40–110 modules at each start. The
 * bundle keeps the lazy loading of commands and roles (esbuild's code splitting: a dynamic import
 * is a chunk of its own), so a command still loads only its own code.
 *
 *   dist/bundle/datomspod.js    the CLI (package.json bin; /usr/local/bin/datomspod)
 *   dist/bundle/pod.js          the pod image's /opt/datomspod/bin/datomspod (roles, operator)
 *   dist/bundle/plan-worker.js  compile's worker thread, beside the chunk that starts it
 *
 * What a module loads from beside itself at run time (ajv's precompiled validators, read with
 * require) is copied beside the chunks. The same dist/ gives byte-identical files (chunk names are
 * hashes of their content; no time, no absolute path): the pod image's digest depends on them.
 * The modules in dist/generator stay what in-process callers and the tests import.
 */

import { chmodSync, copyFileSync, existsSync, readdirSync, realpathSync, renameSync, rmSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { CONTRACT_VALIDATOR_FILE, PRECOMPILED_VALIDATORS_FILE } from "../contract/schema.js";
import { PACKAGE_ROOT } from "../repo/package-root.js";

export const BUNDLE_DIR = "dist/bundle";

/** The bundle's entry points, by the name of the file each becomes. */
export const BUNDLE_ENTRIES = {
  datomspod: "dist/generator/cli/main.js",
  pod: "dist/generator/pod/main.js",
  "plan-worker": "dist/generator/compile/plan-worker.js",
} as const;

/** Files the bundled modules read from beside themselves (`require("./…")`), copied beside the chunks. */
const BESIDE = [`dist/generator/contract/${CONTRACT_VALIDATOR_FILE}`, `dist/generator/contract/${PRECOMPILED_VALIDATORS_FILE}`];

/**
 * Bundles the compiled modules under `root`/dist/generator into `root`/`out` (default dist/bundle),
 * replacing what was there only once the new bundle is complete.
 */
export async function bundleCli(root: string, out = BUNDLE_DIR): Promise<string[]> {
  const target = join(root, out);
  const work = `${target}.tmp`;
  rmSync(work, { recursive: true, force: true });
  try {
    for (const file of [...Object.values(BUNDLE_ENTRIES), ...BESIDE]) {
      if (!existsSync(join(root, file))) throw new Error(`${file} is missing: run tsc and build-validator first (npm run build)`);
    }
    await build({
      absWorkingDir: root,
      entryPoints: { ...BUNDLE_ENTRIES },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node22",
      outdir: work,
      entryNames: "[name]",
      chunkNames: "[name]-[hash]",
      // CommonJS dependencies call require (node's builtins, their own files): ESM has none.
      banner: { js: 'import { createRequire as __datomspodRequire } from "node:module";\nconst require = __datomspodRequire(import.meta.url);' },
      legalComments: "eof",
      logLevel: "warning",
    });
    for (const file of BESIDE) copyFileSync(join(root, file), join(work, basename(file)));
    for (const name of ["datomspod.js", "pod.js"]) chmodSync(join(work, name), 0o755);
    rmSync(target, { recursive: true, force: true });
    renameSync(work, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return readdirSync(target)
    .sort()
    .map((name) => relative(root, join(target, name)));
}

const isEntry = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]);
if (isEntry) {
  const files = await bundleCli(PACKAGE_ROOT);
  process.stdout.write(`bundled ${files.length} files into ${BUNDLE_DIR}\n`);
}
