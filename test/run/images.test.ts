import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cacheDirectory } from "../../generator/run/build-images.js";
import { BASE_IMAGES, NODE_PACKAGE, inputsHash, pinned, podImageReference, tagged } from "../../generator/run/images.js";
import { packageFile } from "../../generator/repo/package-root.js";

describe("image references", () => {
  it.each([
    ["localhost/datomspod/python:3.11", "localhost/datomspod/python@sha256:ab"],
    ["localhost:5000/datomspod/python:3.11", "localhost:5000/datomspod/python@sha256:ab"],
    ["localhost:5000/datomspod/python", "localhost:5000/datomspod/python@sha256:ab"],
    ["localhost/datomspod/python@sha256:cd", "localhost/datomspod/python@sha256:ab"],
  ])("pins %s by digest", (reference, expected) => {
    expect(pinned(reference, "sha256:ab")).toBe(expected);
  });

  it("names the images a run needs", () => {
    expect([tagged(BASE_IMAGES.python), tagged(BASE_IMAGES.node), podImageReference("0.1.0")]).toEqual([
      "localhost/datomspod/python:3.11",
      "localhost/datomspod/node:24",
      "localhost/datomspod/pod:0.1.0",
    ]);
  });

  it("builds the node base image from the node version the project runs on", () => {
    expect(readFileSync(packageFile(".ci", "setup"), "utf8")).toContain(`NODE_VERSION=${NODE_PACKAGE.version}`);
  });
});

describe("inputsHash", () => {
  it("depends on the inputs, not on their order", () => {
    const a = { name: "Containerfile", content: "FROM scratch\n" };
    const b = { name: "rootfs.sh", content: new TextEncoder().encode("#!/bin/sh\n") };

    expect(inputsHash([a, b])).toBe(inputsHash([b, a]));
    expect(inputsHash([a, b])).toMatch(/^[0-9a-f]{64}$/);
    expect(inputsHash([a, { ...b, content: "#!/bin/bash\n" }])).not.toBe(inputsHash([a, b]));
    expect(inputsHash([{ ...a, name: "Dockerfile" }, b])).not.toBe(inputsHash([a, b]));
  });

  it("refuses an input listed twice", () => {
    expect(() =>
      inputsHash([
        { name: "x", content: "1" },
        { name: "x", content: "2" },
      ]),
    ).toThrow("duplicate build input x");
  });
});

describe("cacheDirectory", () => {
  it.each([
    [{ DATOMSPOD_CACHE: "/var/cache/dp" }, "/var/cache/dp"],
    [{ DATOMSPOD_CACHE: "" }, "/home/u/.cache/datomspod"],
    [{}, "/home/u/.cache/datomspod"],
  ])("is DATOMSPOD_CACHE or ~/.cache/datomspod (%j)", (env, expected) => {
    expect(cacheDirectory(env, "/home/u")).toBe(expected);
  });
});
