import { resolve } from "node:path";
import { VerdictError } from "../../errors.js";
import { loadContract } from "../../contract/load.js";
import { placeData, type PlacedFile } from "../../run/place-data.js";
import { assertContractId } from "../../repo/layout.js";
import type { Command } from "../command.js";
import { stringOption } from "../options.js";

const STATE_TEXT: Record<PlacedFile["state"], string> = {
  placed: "placed   ",
  "in-place": "in place ",
  missing: "MISSING  ",
  "not-local": "elsewhere",
};

export const dataPlace: Command = {
  name: ["data", "place"],
  summary: "a data owner puts a contract's data where its signed location says (checked against the signed sha256 and size)",
  usage: "ID [--from DIR]",
  help: [
    "For every file of a dataset whose location is a hostPath (the local profile): DIR/<file name> is checked against the sha256",
    "and size the parties signed, then copied read-only (0444) to <location path>/<file name>, atomically. A file that is not",
    "the agreed one is refused (all of them reported, nothing written); a file already in place is kept when it is the agreed",
    "one and never overwritten when it is not. Without --from it only checks (exit 1 when a file is missing). Other locations",
    "(pvc, csi, nfs, ipfs) are provisioned in the cluster and listed as elsewhere.",
  ].join("\n"),
  options: { from: { type: "string" } },
  positionals: [1, 1],
  run(ctx, [id = ""], values) {
    assertContractId(id);
    const loaded = loadContract(ctx.repo, id);
    const from = stringOption(values, "from");
    const files = placeData(loaded, from === undefined ? undefined : resolve(ctx.cwd, from));
    ctx.emit(
      files,
      files
        .map((f) =>
          f.state === "not-local"
            ? `${STATE_TEXT[f.state]}  ${f.name}  (a ${f.kind} location: provisioned in the cluster)`
            : `${STATE_TEXT[f.state]}  ${f.target}`,
        )
        .join("\n"),
    );
    const missing = files.filter((f) => f.state === "missing");
    if (missing.length > 0) {
      throw new VerdictError(
        `${missing.length} file${missing.length === 1 ? " is" : "s are"} not where ${loaded.file} says`,
        missing.map((f) => ({
          file: f.target,
          path: "$",
          message: "is missing",
          fix: `the data owner places it: datomspod data place ${id} --from DIR (the folder holding ${f.name})`,
        })),
      );
    }
    return 0;
  },
};
