/**
 * The raw-record tripwire's normalisation of text, one character at a time, the same on the input
 * side (datomspace-in indexing rows) and on the output side (datomspace-out scanning outputs and
 * logs), so that a row copied with other line endings, spaces, separators, quoting, case, width or
 * look-alike characters still reads as the same tokens.
 *
 * Every character becomes one of:
 * - a line break: LF, CR (CRLF is a break and an empty line), VT, FF, NEL (U+0085), U+2028, U+2029;
 * - a separator: `,` `;` TAB `|` `:` `=`, brackets `()[]{}<>`, the space and every Unicode white
 *   space (NBSP, the ideographic space, U+2000–U+200A, …), the ideographic and Arabic commas and
 *   semicolon (`、` `،` `؛`);
 * - nothing: quotes (`"` `'` `` ` `` and the typographic ones, `「」『』«»‹›`), format characters
 *   (zero-width spaces and joiners, bidi controls, the BOM, soft hyphen: Unicode category Cf),
 *   combining marks (category M: accents, variation selectors), and control characters;
 * - content: the character after NFKD (fullwidth, mathematical, circled and superscript forms
 *   become ASCII), lower-cased, with accents dropped, then folded: digits of every script to ASCII
 *   digits, Cyrillic and Greek letters that look like Latin ones to those, dashes to `-`, and, in
 *   Latin, the letters that pass for digits: `o` → `0`, `i` and `l` → `1`.
 *
 * The fold is a function of the character alone, so both sides agree whatever the chunking.
 */

/** How a byte below 0x80 reads. */
export const CONTENT = 0;
export const SEPARATOR = 1;
export const BREAK = 2;
/** CR: a line break; an LF right after it does not count as another line. */
export const CR = 3;
export const IGNORED = 4;
export const NUL = 5;

/** Class of each ASCII byte. */
export const ASCII_CLASS = new Uint8Array(128);
/** The folded byte of each ASCII content byte. */
export const ASCII_FOLD = new Uint8Array(128);

for (let byte = 0; byte < 128; byte += 1) {
  ASCII_FOLD[byte] = byte;
  ASCII_CLASS[byte] = byte < 0x20 || byte === 0x7f ? IGNORED : CONTENT;
}
for (const c of ",;\t|:=()[]{}<> ") ASCII_CLASS[c.charCodeAt(0)] = SEPARATOR;
for (const c of "\n\v\f") ASCII_CLASS[c.charCodeAt(0)] = BREAK;
ASCII_CLASS[0x0d] = CR;
ASCII_CLASS[0x00] = NUL;
for (const c of "\"'`") ASCII_CLASS[c.charCodeAt(0)] = IGNORED;
for (let byte = 0x41; byte <= 0x5a; byte += 1) ASCII_FOLD[byte] = byte + 0x20;
for (const [from, to] of [
  ["o", "0"],
  ["i", "1"],
  ["l", "1"],
] as const) {
  ASCII_FOLD[from.charCodeAt(0)] = to.charCodeAt(0);
  ASCII_FOLD[from.toUpperCase().charCodeAt(0)] = to.charCodeAt(0);
}

/** What a folded character stands for, in a folded sequence: these two bytes never occur as content. */
export const FOLDED_SEPARATOR = 0x2c;
export const FOLDED_BREAK = 0x0a;

/** Letters of other scripts that look like Latin letters (after lower-casing), and their Latin twin. */
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: "a",
  в: "b",
  е: "e",
  ё: "e",
  к: "k",
  м: "m",
  н: "h",
  о: "o",
  р: "p",
  с: "c",
  т: "t",
  у: "y",
  х: "x",
  ѕ: "s",
  і: "i",
  ї: "i",
  ј: "j",
  ԁ: "d",
  ԛ: "q",
  ԝ: "w",
  һ: "h",
  ӏ: "l",
  з: "3",
  б: "6",
  // Greek
  α: "a",
  β: "b",
  ε: "e",
  ζ: "z",
  η: "n",
  ι: "i",
  κ: "k",
  μ: "u",
  ν: "v",
  ο: "o",
  ρ: "p",
  τ: "t",
  υ: "u",
  χ: "x",
  ω: "w",
  // Latin look-alikes NFKD keeps apart
  ı: "i",
  ȷ: "j",
  ɡ: "g",
  ɑ: "a",
  ꞵ: "b",
  ø: "o",
  đ: "d",
  ħ: "h",
  ł: "l",
  ŧ: "t",
  ß: "ss",
  æ: "ae",
  œ: "oe",
};

const QUOTES = new Set([
  ..."\u00ab\u00bb\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a\u300c\u300d\u300e\u300f\u301d\u301e\u301f\u2032\u2033\u00b4",
]);
const SEPARATORS = new Set([..."\u3001\u060c\u061b\u00b7\u30fb"]);
const BREAKS = new Set([0x85, 0x2028, 0x2029]);
/** Minus signs that are not dashes (Unicode category Sm). */
const MINUS = new Set([..."\u2212\u2796\u02d7"]);

const MARK = /\p{M}/u;
const FORMAT = /[\p{Cf}\p{Cc}\p{Co}\p{Cs}]/u;
const SPACE = /[\p{White_Space}]/u;
const DASH = /\p{Pd}/u;
const DIGIT = /\p{Nd}/u;

let digitZeros: number[] | undefined;

/** The code points of the zero of every run of ten decimal digits (Unicode category Nd). */
function zeros(): number[] {
  if (digitZeros !== undefined) return digitZeros;
  const found: number[] = [];
  for (let cp = 0x80; cp < 0x20000; cp += 1) {
    if (DIGIT.test(String.fromCodePoint(cp)) && !DIGIT.test(String.fromCodePoint(cp - 1))) found.push(cp);
  }
  digitZeros = found;
  return found;
}

/** The value of a decimal digit of any script. */
function digitValue(cp: number): number {
  const all = zeros();
  let zero = all[0];
  for (const z of all) if (z <= cp) zero = z;
  return (cp - zero) % 10;
}

const encoder = new TextEncoder();

/** One folded character (a single UTF-16 unit or pair, after NFKD and lower-casing) as folded bytes. */
function foldChar(char: string, out: number[]): void {
  const cp = char.codePointAt(0)!;
  if (cp < 0x80) {
    const kind = ASCII_CLASS[cp];
    if (kind === CONTENT) out.push(ASCII_FOLD[cp]);
    else if (kind === SEPARATOR) out.push(FOLDED_SEPARATOR);
    else if (kind === BREAK || kind === CR) out.push(FOLDED_BREAK);
    return;
  }
  if (BREAKS.has(cp)) return void out.push(FOLDED_BREAK);
  if (SPACE.test(char) || SEPARATORS.has(char)) return void out.push(FOLDED_SEPARATOR);
  if (QUOTES.has(char) || MARK.test(char) || FORMAT.test(char)) return;
  if (DASH.test(char) || MINUS.has(char)) return void out.push(0x2d);
  if (DIGIT.test(char)) return void out.push(0x30 + digitValue(cp));
  const twin = CONFUSABLES[char];
  if (twin !== undefined) {
    for (const c of twin) foldChar(c, out);
    return;
  }
  for (const byte of encoder.encode(char)) out.push(byte);
}

const cache = new Map<number, Uint8Array>();
const letters = new Set<number>();

/**
 * Whether a code point of 0x80 or above is a letter (its fold may be a digit: `Ｏ`, `О`, `Ι`),
 * so that a token keeps counting as lettered whatever the width or script it is written in.
 */
export function isLetterCodePoint(cp: number): boolean {
  foldCodePoint(cp);
  return letters.has(cp);
}

/**
 * A code point of 0x80 or above as folded bytes: FOLDED_SEPARATOR, FOLDED_BREAK, or content bytes
 * (ASCII, or the UTF-8 of a character that folds to itself). Empty: the character is dropped.
 */
export function foldCodePoint(cp: number): Uint8Array {
  const known = cache.get(cp);
  if (known !== undefined) return known;
  const char = String.fromCodePoint(cp);
  const out: number[] = [];
  if (BREAKS.has(cp)) out.push(FOLDED_BREAK);
  else if (SPACE.test(char) || SEPARATORS.has(char)) out.push(FOLDED_SEPARATOR);
  else if (!(QUOTES.has(char) || MARK.test(char) || FORMAT.test(char))) {
    const decomposed = char.normalize("NFKD").toLowerCase().normalize("NFKD");
    for (const c of decomposed) foldChar(c, out);
  }
  const folded = Uint8Array.from(out);
  if (/\p{L}/u.test(char)) letters.add(cp);
  if (cache.size < 65536) cache.set(cp, folded);
  return folded;
}

/** A whole string folded the way the tripwire reads it, for tests and reports: separators as ',', breaks as '\n'. */
export function foldText(text: string): string {
  const out: number[] = [];
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (cp < 0x80) foldChar(char, out);
    else out.push(...foldCodePoint(cp));
  }
  return new TextDecoder().decode(Uint8Array.from(out));
}
