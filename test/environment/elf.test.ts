import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bufferReader, isElf64, readDynamic } from "../../generator/environment/elf.js";

/** NEEDED and RUNPATH/RPATH as binutils' readelf reports them. */
function readelf(file: string): { needed: string[]; searchPath: string[] } {
  const text = execFileSync("readelf", ["-d", file], { encoding: "utf8" });
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? "");
  const searchPath = [...text.matchAll(/\((?:RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[([^\]]+)\]/g)].flatMap((m) => (m[1] ?? "").split(":"));
  return { needed, searchPath };
}

const hasReadelf = (() => {
  try {
    execFileSync("readelf", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

describe("readDynamic", () => {
  const libraries = ["/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libssl.so.3"].filter((file) =>
    existsSync(file),
  );

  it.skipIf(!hasReadelf || libraries.length === 0).each(libraries)("reads what %s needs as readelf does", (file) => {
    const bytes = readFileSync(file);

    const info = readDynamic(bufferReader(bytes));

    expect(info).toEqual(readelf(file));
    expect(info?.needed).toContain("libc.so.6");
  });

  it("reads only a few kilobytes of a large file", () => {
    const bytes = readFileSync(libraries[0] ?? "/usr/bin/python3.11");
    let read = 0;

    readDynamic((offset, length) => {
      read += length;
      return bufferReader(bytes)(offset, length);
    });

    expect(read).toBeLessThan(64 * 1024);
  });

  it.each([
    ["an empty file", new Uint8Array(0)],
    ["a script", new TextEncoder().encode("#!/bin/sh\necho hello\n".padEnd(200, " "))],
    ["a 32-bit ELF header", Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, ...new Array<number>(57).fill(0)])],
    ["a big-endian ELF header", Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1, ...new Array<number>(57).fill(0)])],
  ])("is undefined for %s", (_what, bytes) => {
    expect(readDynamic(bufferReader(bytes))).toBeUndefined();
  });

  it("never throws on a corrupt ELF file, whatever its offsets say", () => {
    const good = readFileSync(libraries[0] ?? "/usr/bin/python3.11");
    expect(isElf64(good)).toBe(true);
    for (const at of [0x28, 0x2c, 0x3a, 0x3c]) {
      for (const value of [0x00, 0x7f, 0xff]) {
        const bytes = Uint8Array.from(good.subarray(0, 4096));
        bytes.fill(value, at, at + 4);

        expect(() => readDynamic(bufferReader(bytes))).not.toThrow();
      }
    }
    // The header of a real file with the rest cut off: the section table is out of reach.
    expect(readDynamic(bufferReader(good.subarray(0, 64)))).toBeUndefined();
  });
});
