/**
 * `datomspod run` asks podman about the pinned images while the gate runs (generator/run/run.ts):
 * the answers are used for the images the committed Job names, an image it names that was not asked
 * is asked then, and an early question that was not answered in time is asked again. A podman on
 * PATH that records each call stands in for the real one (fast; the real one is in the e2e tests).
 */

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { askImages, checkImages } from "../../generator/run/run.js";
import { ServiceError } from "../../generator/errors.js";

const POD = `localhost/datomspod/pod@sha256:${"a".repeat(64)}`;
const ALGORITHM = `localhost/datomspod/python@sha256:${"b".repeat(64)}`;
const OTHER = `localhost/datomspod/python-data@sha256:${"c".repeat(64)}`;

let dir: string;
let path: string | undefined;

/** A podman that logs its arguments, answers `image inspect` for the images in `known`, and sleeps while `slow` exists. */
function fakePodman(known: readonly string[]): void {
  const answers = known
    .map((image) => `  ${JSON.stringify(image)}) echo '[{"Id":"${"d".repeat(64)}","Digest":"${image.split("@")[1]}","Labels":{}}]' ;;`)
    .join("\n");
  writeFileSync(
    join(dir, "podman"),
    `#!/bin/sh\necho "$*" >> ${JSON.stringify(join(dir, "calls"))}\nwhile [ -e ${JSON.stringify(join(dir, "slow"))} ]; do sleep 0.05; done\ncase "$3" in\n${answers}\n  *) echo "Error: $3: image not known" >&2; exit 125 ;;\nesac\n`,
  );
  chmodSync(join(dir, "podman"), 0o755);
}

function calls(): string[] {
  try {
    return readFileSync(join(dir, "calls"), "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** The committed Job's shape as checkImages reads it: roles on the pod image, computing on the algorithm's. */
function objects(algorithm: string): Record<string, unknown>[] {
  const container = (name: string, image: string): Record<string, unknown> => ({ name, image });
  return [
    {
      kind: "Job",
      spec: {
        template: {
          spec: {
            initContainers: [container("datomspace-in", POD), container("computing", algorithm), container("datomspace-out", POD)],
            containers: [container("oracle", POD)],
          },
        },
      },
    },
  ];
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "datomspod-images-early-"));
  path = process.env["PATH"];
  process.env["PATH"] = `${dir}:${path ?? ""}`;
});
afterEach(() => {
  process.env["PATH"] = path;
  rmSync(dir, { recursive: true, force: true });
});

describe("the pinned images, asked while the gate runs", () => {
  it("are asked once each: the Job's images are checked against the early answers", async () => {
    fakePodman([POD, ALGORITHM]);

    const asked = askImages("podman", [POD, ALGORITHM], 5_000);
    const refused = await checkImages("podman", objects(ALGORITHM), ALGORITHM, "3.11", asked);

    expect(refused).toBeUndefined();
    expect(calls().sort()).toEqual([`image inspect ${ALGORITHM}`, `image inspect ${POD}`].sort());
  });

  it("asks about an image the Job names that was not asked early, and refuses it when podman does not have it", async () => {
    fakePodman([POD, ALGORITHM]);

    const asked = askImages("podman", [POD, ALGORITHM], 5_000);
    const refusal = checkImages("podman", objects(OTHER), OTHER, "3.11", asked);

    await expect(refusal).rejects.toThrow(new RegExp(`the pinned image ${OTHER.replace(/[.@]/g, "\\$&")} is not on this machine`));
    expect(calls()).toContain(`image inspect ${OTHER}`);
  });

  it("asks again, without the early limit, when an early question was not answered in time", async () => {
    fakePodman([POD, ALGORITHM]);
    writeFileSync(join(dir, "slow"), "");

    const asked = askImages("podman", [POD, ALGORITHM], 150);
    await expect(asked.get(POD)).rejects.toBeInstanceOf(ServiceError);
    rmSync(join(dir, "slow"));
    const refused = await checkImages("podman", objects(ALGORITHM), ALGORITHM, "3.11", asked);

    expect(refused).toBeUndefined();
    expect(calls().filter((call) => call === `image inspect ${POD}`)).toHaveLength(2);
  });
});
