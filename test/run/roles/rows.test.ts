import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import { RowIndex, RowIndexBuilder } from "../../../generator/run/seal/rows.js";
import { tempDir } from "../../helpers/repo.js";

const enc = new TextEncoder();

function indexOf(files: readonly { text: string; header?: boolean }[], chunk = 0): { index: RowIndex; builder: RowIndexBuilder; binary: boolean[] } {
  const builder = new RowIndexBuilder();
  const binary: boolean[] = [];
  for (const file of files) {
    builder.startFile(file.header ?? false);
    const bytes = enc.encode(file.text);
    if (chunk <= 0) builder.feed(bytes);
    else for (let i = 0; i < bytes.length; i += chunk) builder.feed(bytes.subarray(i, i + chunk));
    binary.push(builder.endFile().binary);
  }
  const path = join(tempDir(), "rows.idx");
  builder.write(path);
  return { index: RowIndex.read(path), builder, binary };
}

const INPUT = "patient_id,age,sex,region,diagnosis,length_of_stay_days\nP100000,18,F,west,E11,20\nP100001,38,M,south,K21,19\n";

describe("raw-record detection", () => {
  it.each([
    ["the row as it is", "P100000,18,F,west,E11,20", true],
    ["with spaces around the fields", "  P100000 , 18 ,F,  west,E11 , 20  ", true],
    ["quoted", '"P100000","18","F","west","E11","20"', true],
    ["tab-separated", "P100000\t18\tF\twest\tE11\t20", true],
    ["semicolon-separated", "P100000;18;F;west;E11;20", true],
    ["with CRLF", "P100000,18,F,west,E11,20\r", true],
    ["behind an index column (pandas to_csv)", "0,P100000,18,F,west,E11,20", true],
    ["with a column appended", "P100001,38,M,south,K21,19,extra", true],
    ["with a number written differently", "P100000,18.0,F,west,E11,20", false],
    ["without one of its fields", "P100000,18,F,west,E11", false],
    ["with fields reordered", "18,P100000,F,west,E11,20", false],
    ["the header (not a record)", "patient_id,age,sex,region,diagnosis,length_of_stay_days", false],
    ["an aggregate", "west,39,55.6,12.56", false],
  ])("an output line %s: match = %s", (_what, line, expected) => {
    const { index } = indexOf([{ text: INPUT, header: true }]);

    expect(index.matchesLine(enc.encode(line))).toBe(expected);
  });

  it("indexes a header row when the file is not tabular, and skips rows of one field", () => {
    const { index, builder } = indexOf([{ text: "a,b\nlonely\n\n , \nc,d" }]);

    expect(builder.rows).toBe(2);
    expect(index.matchesLine(enc.encode("a,b"))).toBe(true);
    expect(index.matchesLine(enc.encode("c,d"))).toBe(true);
    expect(index.matchesLine(enc.encode("lonely"))).toBe(false);
    expect(index.fieldCounts).toEqual([2]);
  });

  it("stops indexing a file at its first NUL byte and says it was binary", () => {
    const { index, binary } = indexOf([{ text: "x,1\ny,2\u0000\nz,3\n" }, { text: "w,4\n" }]);

    expect(binary).toEqual([true, false]);
    expect(index.matchesLine(enc.encode("x,1"))).toBe(true);
    expect(index.matchesLine(enc.encode("z,3"))).toBe(false);
    expect(index.matchesLine(enc.encode("w,4"))).toBe(true);
  });

  it("reports the 1-based numbers of the matching lines", () => {
    const { index } = indexOf([{ text: INPUT, header: true }]);

    expect(index.matchingLines(enc.encode("region,n\nP100001,38,M,south,K21,19\nwest,3\nP100000,18,F,west,E11,20"))).toEqual([2, 4]);
  });

  it("builds the same index whatever the chunk boundaries, and every row it was fed matches", () => {
    const field = fc.stringMatching(/^[ a-z0-9",;|\t]{0,8}$/);
    const row = fc.array(field, { minLength: 1, maxLength: 5 }).map((fields) => fields.join(","));
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 17 }), (rows, chunk) => {
        const text = rows.join("\n");
        const whole = indexOf([{ text }]);
        const chunked = indexOf([{ text }], chunk);

        expect(chunked.builder.rows).toBe(whole.builder.rows);
        for (const line of rows) expect(chunked.index.matchesLine(enc.encode(line))).toBe(whole.index.matchesLine(enc.encode(line)));
        // A line the builder indexed (two or more fields with content) always matches itself.
        for (const line of rows) {
          const fields = line.split(/[,;|\t]/);
          if (fields.length >= 2 && /[^ "\t]/.test(fields.join(""))) expect(whole.index.matchesLine(enc.encode(line))).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
