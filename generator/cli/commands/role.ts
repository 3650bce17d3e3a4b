/**
 * `datomspod role <name>`: the pod's own containers (internal: the rendered Job runs them; nobody
 * types them). Paths are the pod's mount points, passed as the Job's args. Each role loads its own
 * modules when it runs, not its siblings': a role container starts under a quarter of a CPU.
 */

import { resolve } from "node:path";
import { InputError } from "../../errors.js";
import type { Command, Context, Values } from "../command.js";
import { stringOption } from "../options.js";

function path(ctx: Context, values: Values, name: string): string {
  return resolve(ctx.cwd, stringOption(values, name, true));
}

function optionalPath(ctx: Context, values: Values, name: string): string | undefined {
  const value = stringOption(values, name);
  return value === undefined ? undefined : resolve(ctx.cwd, value);
}

const INTERNAL = "Internal: runs inside the pod as the rendered Job says; not for interactive use.";

export const roleDatomspaceIn: Command = {
  name: ["role", "datomspace-in"],
  summary: "(internal, in the pod) re-hash the code and inputs; on a match hand over the supervisor and open the gate",
  usage:
    "--contract FILE --inputs DIR --algorithm FILE --tools DIR --status DIR [--ocean-inputs DIR] [--scratch DIR] [--parameters FILE] [--verified DIR] [--supervisor FILE] [--network-settle SECONDS]",
  help: `${INTERNAL}
Writes <verified>/datomspace-in.json (default <verified> = --status). Only when the algorithm code and every
input file match the contract (regular files, size and sha256) does it copy the supervisor (--supervisor,
default /opt/datomspod/bin/supervise) to <tools>/supervise, lay out Ocean's input paths in --ocean-inputs (links to the
input mounts, and a copy of --parameters as algoCustomData.json), link data -> /data in the --scratch working
directory (Ocean's relative data/... paths) and create <verified>/inputs-verified, no earlier than
--network-settle seconds (default 0) after the role started: on a cluster, the time the NetworkPolicy
enforcer takes to filter a new pod. A mismatch or any error leaves no gate and still exits 0, so the
pod goes on to a receipt that says why.`,
  options: {
    contract: { type: "string" },
    inputs: { type: "string" },
    algorithm: { type: "string" },
    tools: { type: "string" },
    status: { type: "string" },
    verified: { type: "string" },
    parameters: { type: "string" },
    "ocean-inputs": { type: "string" },
    scratch: { type: "string" },
    supervisor: { type: "string" },
    "network-settle": { type: "string" },
  },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const settle = stringOption(values, "network-settle") ?? "0";
    if (!/^[0-9]{1,3}$/.test(settle))
      throw InputError.of({
        file: "command line",
        path: "--network-settle",
        message: `${JSON.stringify(settle)} is not a whole number of seconds up to 999`,
        fix: "e.g. --network-settle 5",
      });
    const { runDatomspaceIn } = await import("../../pod/roles/datomspace-in.js");
    const verdict = runDatomspaceIn({
      contract: path(ctx, values, "contract"),
      inputs: path(ctx, values, "inputs"),
      algorithm: path(ctx, values, "algorithm"),
      tools: path(ctx, values, "tools"),
      status: path(ctx, values, "status"),
      verified: optionalPath(ctx, values, "verified"),
      parameters: optionalPath(ctx, values, "parameters"),
      oceanInputs: optionalPath(ctx, values, "ocean-inputs"),
      scratch: optionalPath(ctx, values, "scratch"),
      supervisor: optionalPath(ctx, values, "supervisor"),
      networkSettleSeconds: Number(settle),
    });
    const text = verdict.ok
      ? `datomspace-in: ${verdict.checked.length} files match the contract; gate open`
      : ["datomspace-in: verification failed; the algorithm will not start", ...verdict.failures.map((f) => `  - ${f.file} (${f.path}): ${f.message}`)].join(
          "\n",
        );
    ctx.emit(verdict, text);
    return 0;
  },
};

export const roleDatomspaceOut: Command = {
  name: ["role", "datomspace-out"],
  summary: "(internal, in the pod) apply the output policy and seal outputs and logs for their readers",
  usage: "--contract FILE --run RUN --outputs DIR --logs DIR --status DIR --sealed DIR [--verified DIR]",
  help: `${INTERNAL}
Writes <sealed>/blobs/<n> (ciphertext only) and <sealed>/manifest.json. Exits 0 whenever the manifest was
written, also on a policy violation (then only the logs are sealed, for the data owners).`,
  options: {
    contract: { type: "string" },
    run: { type: "string" },
    outputs: { type: "string" },
    logs: { type: "string" },
    status: { type: "string" },
    verified: { type: "string" },
    sealed: { type: "string" },
  },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const { runDatomspaceOut } = await import("../../pod/roles/datomspace-out.js");
    const manifest = await runDatomspaceOut({
      contract: path(ctx, values, "contract"),
      run: stringOption(values, "run", true),
      outputs: path(ctx, values, "outputs"),
      logs: path(ctx, values, "logs"),
      status: path(ctx, values, "status"),
      verified: optionalPath(ctx, values, "verified"),
      sealed: path(ctx, values, "sealed"),
    });
    const state =
      manifest.error !== null ? manifest.error : manifest.policy.ok ? "output policy holds" : `output policy violated (${manifest.policy.rules.join(", ")})`;
    ctx.emit(
      { ok: manifest.policy.ok, files: manifest.files.length, sealedFor: manifest.sealedFor, rules: manifest.policy.rules },
      `datomspace-out: ${state}; sealed ${manifest.files.length} blob${manifest.files.length === 1 ? "" : "s"} for ${manifest.sealedFor.join(", ") || "nobody"}`,
    );
    return 0;
  },
};

export const roleOracle: Command = {
  name: ["role", "oracle"],
  summary: "(internal, in the pod) write the run's receipt (in-toto statement) to the sealed volume",
  usage: "--contract FILE --run RUN --status DIR --sealed DIR [--verified DIR]",
  help: `${INTERNAL}
Reads datomspace-in's verdict, the supervisor's computing.json and datomspace-out's manifest and writes
<sealed>/receipt.json. Exits 0 when the run succeeded, 1 when it did not (after the receipt is
written): the pod, hence the Job, fails, and Argo CD shows the Application Degraded.`,
  options: {
    contract: { type: "string" },
    run: { type: "string" },
    status: { type: "string" },
    verified: { type: "string" },
    sealed: { type: "string" },
  },
  positionals: [0, 0],
  async run(ctx, _args, values) {
    const { runOracle } = await import("../../pod/roles/oracle.js");
    const receipt = runOracle({
      contract: path(ctx, values, "contract"),
      run: stringOption(values, "run", true),
      status: path(ctx, values, "status"),
      verified: optionalPath(ctx, values, "verified"),
      sealed: path(ctx, values, "sealed"),
    });
    const status = receipt.predicate.status;
    ctx.emit(receipt, `oracle: run ${receipt.predicate.run.id} ${status.phase}: ${status.reason}`);
    // The oracle is the pod's last container: its exit code is the Job's outcome. The supervisor
    // exits 0 whatever the algorithm did (so that the logs are still sealed and the receipt
    // written); without this a run stopped at its deadline would leave a Complete Job.
    return status.phase === "succeeded" ? 0 : 1;
  },
};

/** The commands the pod's containers run: all the pod image's `datomspod role` loads. */
export const ROLE_COMMANDS: readonly Command[] = [roleDatomspaceIn, roleDatomspaceOut, roleOracle];
