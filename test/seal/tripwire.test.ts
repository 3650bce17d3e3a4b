/**
 * The raw-record tripwire (fold.ts, tokens.ts, rows.ts, views.ts): rows copied out in the
 * encodings an algorithm can reach for are found, aggregates are not, whatever the chunking.
 */

import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { foldText } from "../../generator/seal/fold.js";
import { RowIndex, RowIndexBuilder } from "../../generator/seal/rows.js";
import { tokensOf } from "../../generator/seal/tokens.js";
import { DECODE_MAX_BYTES, scanBytes } from "../../generator/seal/views.js";
import { PATIENTS } from "../pod/roles/pod.js";

const enc = new TextEncoder();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "datomspod-tripwire-"));
  dirs.push(dir);
  return dir;
}

function indexOf(files: readonly { text: string | Uint8Array; header?: boolean }[], options: { chunk?: number; threshold?: number } = {}): RowIndex {
  const builder = new RowIndexBuilder({ threshold: options.threshold });
  for (const file of files) {
    builder.startFile(file.header ?? false);
    const bytes = typeof file.text === "string" ? enc.encode(file.text) : file.text;
    const chunk = options.chunk ?? 0;
    if (chunk <= 0) builder.feed(bytes);
    else for (let i = 0; i < bytes.length; i += chunk) builder.feed(bytes.subarray(i, i + chunk));
    builder.endFile();
  }
  const path = join(tempDir(), "rows.idx");
  builder.write(path);
  return RowIndex.read(path);
}

const TABLE = readFileSync(PATIENTS, "utf8");
const LINES = TABLE.trimEnd().split("\n");
const HEADER = LINES[0];
const ROWS = LINES.slice(1, 4);
const index = indexOf([{ text: TABLE, header: true }], { threshold: 10 });

function found(output: string | Uint8Array, from = index): boolean {
  const result = scanBytes(from, typeof output === "string" ? enc.encode(output) : output);
  return result.matches.length > 0;
}

const fields = (row: string): string[] => row.split(",");

describe("the tripwire finds rows of the inputs", () => {
  it.each<[string, string | Uint8Array]>([
    ["verbatim", ROWS.join("\n")],
    ["with CR-only line endings", [HEADER, ...ROWS].join("\r")],
    ["with CRLF and a BOM", `\uFEFF${[HEADER, ...ROWS].join("\r\n")}`],
    ["with U+2028 and NEL between rows", ROWS.join("\u2028") + "\u0085"],
    ["with zero-width spaces in every field", ROWS.map((r) => [...r].join("\u200B")).join("\n")],
    ["with bidi controls and soft hyphens", ROWS.map((r) => `\u202E${r.replace(/,/g, "\u00AD,\u2066")}\u202C`).join("\n")],
    ["separated by no-break spaces", ROWS.map((r) => r.replace(/,/g, "\u00A0")).join("\n")],
    ["separated by ideographic spaces and commas", ROWS.map((r) => r.replace(/,/g, "\u3000\u3001")).join("\n")],
    ["in fullwidth letters and digits", ROWS.map((r) => r.replace(/[0-9A-Za-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))).join("\n")],
    ["with Cyrillic look-alikes and O for 0", ROWS.map((r) => r.replace(/0/g, "O").replace(/P/g, "Р").replace(/M/g, "М")).join("\n")],
    ["with Arabic-Indic digits", ROWS.map((r) => r.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)))).join("\n")],
    ["with accents added", ROWS.map((r) => r.replace(/([a-z])/g, "$1\u0301")).join("\n")],
    ["in upper case", ROWS.join("\n").toUpperCase()],
    ["tab-, semicolon- and pipe-separated", [ROWS[0].replace(/,/g, "\t"), ROWS[1].replace(/,/g, ";"), `| ${ROWS[2].replace(/,/g, " | ")} |`].join("\n")],
    [
      "as fixed-width columns",
      ROWS.map((r) =>
        fields(r)
          .map((f) => f.padEnd(10))
          .join(""),
      ).join("\n"),
    ],
    [
      "quoted three ways",
      ROWS.map((r, i) =>
        fields(r)
          .map((f) => `${`"'\``[i]}${f}${`"'\``[i]}`)
          .join(","),
      ).join("\n"),
    ],
    ["with columns reordered", ROWS.map((r) => fields(r).reverse().join(",")).join("\n")],
    ["behind an index column and with a column appended", ROWS.map((r, i) => `${i},${r},extra`).join("\n")],
    ["as JSON lines keyed by the header", ROWS.map((r) => JSON.stringify(Object.fromEntries(fields(r).map((f, i) => [fields(HEADER)[i], f])))).join("\n")],
    [
      "as a JSON array with renamed keys",
      JSON.stringify(
        ROWS.map((r) => Object.fromEntries(fields(r).map((f, i) => [`k${i}`, Number.isNaN(Number(f)) ? f : Number(f)]))),
        null,
        2,
      ),
    ],
    [
      "as Python tuples",
      `[${ROWS.map(
        (r) =>
          `(${fields(r)
            .map((f) => `'${f}'`)
            .join(", ")})`,
      ).join(", ")}]`,
    ],
    ["one field a line", ROWS.join(",").replace(/,/g, "\n")],
    [
      "transposed",
      fields(HEADER)
        .map((_, c) => ROWS.map((r) => fields(r)[c]).join(","))
        .join("\n"),
    ],
    [
      "with numbers rewritten (18 as 18.0, 020)",
      ROWS.map((r) =>
        fields(r)
          .map((f) => (/^\d+$/.test(f) ? `0${f}.0` : f))
          .join(","),
      ).join("\n"),
    ],
    ["base64", Buffer.from(ROWS.join("\n")).toString("base64")],
    [
      "base64 wrapped at 76 columns",
      Buffer.from(ROWS.join("\n"))
        .toString("base64")
        .replace(/(.{76})/g, "$1\n"),
    ],
    ["hex", Buffer.from(ROWS.join("\n")).toString("hex")],
    ["gzip", gzipSync(ROWS.join("\n"))],
    ["base64 of gzip inside JSON", JSON.stringify({ blob: gzipSync(ROWS.join("\n")).toString("base64") })],
    ["UTF-16 with a BOM", Buffer.from(`\uFEFF${ROWS.join("\n")}`, "utf16le")],
    ["only the identifier column (a rare value on its own)", ROWS.map((r) => fields(r)[0]).join("\n")],
  ])("%s", (_what, output) => {
    expect(found(output)).toBe(true);
  });

  it("reads a zip archive's deflated member", () => {
    const data = deflateRawSync(ROWS.join("\n"));
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(8, 8);
    head.writeUInt32LE(data.length, 18);
    head.writeUInt16LE(0, 26);

    expect(found(Buffer.concat([head, data]))).toBe(true);
  });

  it("names the view and the lines where rows show", () => {
    const result = scanBytes(index, enc.encode(`region,patients\n${ROWS[0]}\nwest,39\n${ROWS[2]}\n`));

    expect(result.matches[0]).toEqual({ view: "text", lines: [2, 4] });
  });

  it("fails closed on content that inflates beyond what it may decode", () => {
    const bomb = gzipSync(Buffer.alloc(DECODE_MAX_BYTES + 1));

    expect(scanBytes(index, bomb).unchecked).toMatch(/inflates to more than/);
  });
});

describe("the tripwire leaves aggregates alone", () => {
  it.each([
    ["the example's aggregates", "region,patients,mean_age,mean_length_of_stay_days\ncentral,23,58.9,12.17\neast,37,51.6,12.32\nnorth,88,58.5,10.97\n"],
    ["the header alone", HEADER],
    ["counts by two columns", "region,sex,patients\nnorth,F,44\nnorth,M,44\nsouth,F,27\nsouth,M,26\n"],
    ["a JSON summary", JSON.stringify({ patients: 240, meanAge: 55.4, byDiagnosis: { E11: 51, I10: 47, J45: 44, K21: 49, M54: 49 } })],
    ["a log of progress", "reading /data/inputs/patients.csv\n240 rows, 5 groups, 0 suppressed below k=10\ndone in 0.2 s\n"],
    ["a value many rows share (a region)", "central\nnorth\n"],
    ["a digest and a long word", `sha256 ${"ab".repeat(32)}\nmean_length_of_stay_days\n`],
  ])("%s", (_what, output) => {
    expect(found(output)).toBe(false);
  });

  it("does not index what many input rows share: a combination found threshold times or more is a group", () => {
    const groups = indexOf([{ text: "region,sex\n" + "north,F\n".repeat(3) + "south,M\n" }], { threshold: 3 });

    expect(found("north,F", groups)).toBe(false);
    expect(found("south,M", groups)).toBe(true);
  });

  it("indexes a single-column input's rare, long values only", () => {
    const single = indexOf([{ text: "email\nann.lee@example.org\nbo.chan@example.org\nx\n42\n" + "shared@example.org\n".repeat(2), header: true }]);

    expect(found("contact: Ann.Lee@Example.org", single)).toBe(true);
    expect(found("x,42", single)).toBe(false);
    expect(found("shared@example.org", single)).toBe(false);
  });
});

describe("the index", () => {
  it("stops indexing a file at its first NUL byte", () => {
    const builder = new RowIndexBuilder();
    builder.startFile(false);
    builder.feed(enc.encode("xenon-1,11\nyttrium-2,22\u0000\nzirconium-3,33\n"));
    const first = builder.endFile();
    builder.startFile(false);
    builder.feed(enc.encode("wolfram-4,44\n"));

    expect(first).toMatchObject({ binary: true, rows: 1 });
    expect(builder.endFile()).toMatchObject({ binary: false, rows: 1 });
  });

  it("is the same file whatever the chunk boundaries, and every row it was fed is found", () => {
    const field = fc.stringMatching(/^[ a-zA-Z0-9",;|\t\u00A0\u200B]{0,8}$/);
    const row = fc.array(field, { minLength: 1, maxLength: 5 }).map((f) => f.join(","));
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 17 }), (rows, chunk) => {
        const text = rows.join("\r\n");
        const paths = [0, chunk].map((size) => {
          const builder = new RowIndexBuilder();
          builder.startFile(false);
          const bytes = enc.encode(text);
          if (size === 0) builder.feed(bytes);
          else for (let i = 0; i < bytes.length; i += size) builder.feed(bytes.subarray(i, i + size));
          builder.endFile();
          const path = join(tempDir(), "rows.idx");
          builder.write(path);
          return path;
        });
        expect(readFileSync(paths[1])).toEqual(readFileSync(paths[0]));
        const whole = RowIndex.read(paths[0]);
        // A row found once (as a multiset of tokens) is indexed; one found twice is a group of two.
        const multiset = (line: string): string => JSON.stringify(tokensOf(line).map(String).sort());
        for (const line of rows)
          if (tokensOf(line).length >= 2 && rows.filter((r) => multiset(r) === multiset(line)).length === 1) expect(found(line, whole)).toBe(true);
        whole.close();
      }),
      { numRuns: 40 },
    );
  });
});

describe("the fold", () => {
  it.each([
    ["ＡＢＣ１２３", "abc123"],
    ["O0 l1 I1", "00,11,11"],
    ["Р100003", "p100003"],
    ["é ñ", "e,n"],
    ["a\u200Bb\uFEFFc", "abc"],
    ["a\u00A0b\u3000c", "a,b,c"],
    ["a\u2028b\u0085c\rd", "a\nb\nc\nd"],
    ["“quoted” 'x' `y`", "qu0ted,x,y"],
    ["١٢٣ 𝟒𝟓 ²", "123,45,2"],
    ["−5 – 6", "-5,-,6"],
  ])("%s → %s", (text, folded) => {
    expect(foldText(text)).toBe(folded);
  });

  it("reads numbers canonically: 034.50 is 34.5, +7 is 7, -0 is 0", () => {
    expect(tokensOf("034.50 +7 -0 1e3")).toEqual([...tokensOf("34.5 7 0"), ...tokensOf("1e3")]);
  });
});
