/**
 * `npm run lab -- <command>`: the lab by hand (see docs/cluster-lab.md).
 *
 *   up [--pieces node,argocd,…]   start it (after cleaning what a previous run left); prints
 *                                 KUBECONFIG and the lab's description
 *   down                          stop it and clean up (also after a crash)
 *   status                        what runs, by pid
 *
 * --dir DIR: the lab folder (default: env DATOMSPOD_LAB_DIR, else <repo>/.datomspod/lab).
 */

import { parseArgs } from "node:util";
import { daemonRecords, isRunning } from "./daemons.js";
import { PIECES, defaultLabDir, labDown, labUp, readLabInfo } from "./lab.js";
import type { Piece } from "./tools.js";

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { dir: { type: "string" }, pieces: { type: "string" } },
  });
  const dir = values.dir ?? defaultLabDir();
  const command = positionals[0] ?? "status";
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  switch (command) {
    case "up": {
      const pieces = values.pieces?.split(",").map((p) => p.trim()) as Piece[] | undefined;
      const unknown = pieces?.filter((p) => !PIECES.includes(p));
      if (unknown !== undefined && unknown.length > 0) {
        log(`unknown piece(s) ${unknown.join(", ")}; pieces: ${PIECES.join(", ")}`);
        return 2;
      }
      const info = await labUp({ dir, log, ...(pieces === undefined ? {} : { pieces }) });
      print(JSON.stringify(info, null, 2));
      print(`export KUBECONFIG=${info.adminKubeconfig}; alias kubectl=${info.kubectl}`);
      return 0;
    }
    case "down": {
      const report = await labDown({ dir, log });
      // (labDown logged what it stopped)
      if (report.stopped.length + report.strays.length + report.unmounted === 0) print(`nothing was up in ${dir}; cleaned`);
      return report.cgroupsLeft.length === 0 ? 0 : 1;
    }
    case "status": {
      const info = readLabInfo(dir);
      print(info === undefined ? `no lab in ${dir}` : `lab in ${dir}: ${info.running.join(", ")}; KUBECONFIG=${info.adminKubeconfig}`);
      for (const record of daemonRecords(dir)) print(`  ${isRunning(record) ? "running" : "stopped"}  ${record.name} (pid ${record.pid}, log ${record.log})`);
      return 0;
    }
    default:
      log(`unknown command ${command}: up, down, status`);
      return 2;
  }
}
