/**
 * What an output is, from its bytes: for outputs named without an extension (Ocean's examples write
 * `/data/outputs/result`), which the contract may let leave as one of the file types it lists in
 * `outputs.policy.extensionless.types`. Binary formats are recognised by their magic bytes, text
 * formats by being UTF-8 without NUL bytes (JSON: and parsing as JSON). Only types that can be told
 * from content are here: a type that cannot (a pickle, an ONNX model) can never be given to a file
 * without an extension. Pure.
 */

/** Bytes read from the start of a file that is not read whole. */
export const SNIFF_HEAD_BYTES = 64 * 1024;
/** Files up to this size (and within the run's budget) are read whole; of larger ones only the head. */
export const SNIFF_WHOLE_MAX_BYTES = 64 * 1024 * 1024;

const bytesOf = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** Magic bytes at an offset; every entry of a list must match. */
const MAGIC: Readonly<Record<string, readonly (readonly [number, readonly number[]])[][]>> = {
  png: [[[0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]]],
  jpg: [[[0, [0xff, 0xd8, 0xff]]]],
  jpeg: [[[0, [0xff, 0xd8, 0xff]]]],
  gif: [[[0, bytesOf("GIF87a")]], [[0, bytesOf("GIF89a")]]],
  webp: [
    [
      [0, bytesOf("RIFF")],
      [8, bytesOf("WEBP")],
    ],
  ],
  tif: [[[0, [0x49, 0x49, 0x2a, 0x00]]], [[0, [0x4d, 0x4d, 0x00, 0x2a]]]],
  tiff: [[[0, [0x49, 0x49, 0x2a, 0x00]]], [[0, [0x4d, 0x4d, 0x00, 0x2a]]]],
  pdf: [[[0, bytesOf("%PDF-")]]],
  zip: [[[0, [0x50, 0x4b, 0x03, 0x04]]], [[0, [0x50, 0x4b, 0x05, 0x06]]]],
  gz: [[[0, [0x1f, 0x8b, 0x08]]]],
  npy: [[[0, [0x93, ...bytesOf("NUMPY")]]]],
  parquet: [[[0, bytesOf("PAR1")]]],
};

/** Text types: UTF-8 without NUL; json must also parse. */
const TEXT_TYPES = ["csv", "json", "log", "md", "tsv", "txt"] as const;

/** Every file type an output without an extension can be recognised as, sorted. */
export const SNIFFABLE_TYPES: readonly string[] = [...new Set([...Object.keys(MAGIC), ...TEXT_TYPES])].sort();

function startsWith(bytes: Uint8Array, offset: number, magic: readonly number[]): boolean {
  return bytes.length >= offset + magic.length && magic.every((b, i) => bytes[offset + i] === b);
}

/** Whether bytes are text: valid UTF-8, no NUL. */
export function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `bytes` (the whole file, or its head when `whole` is false) are of file type `type`.
 * A type not in SNIFFABLE_TYPES never matches; from a head, only the binary types can.
 */
export function contentIs(type: string, bytes: Uint8Array, whole: boolean): boolean {
  const magic = MAGIC[type];
  if (magic !== undefined) {
    if (!magic.some((all) => all.every(([offset, expected]) => startsWith(bytes, offset, expected)))) return false;
    // Parquet ends with its magic too (after the footer).
    return type !== "parquet" || !whole || (bytes.length >= 8 && startsWith(bytes, bytes.length - 4, bytesOf("PAR1")));
  }
  // Text is text to its last byte: a head proves nothing (fail closed).
  if (!(TEXT_TYPES as readonly string[]).includes(type) || !whole) return false;
  if (!isText(bytes)) return false;
  if (type !== "json") return true;
  try {
    JSON.parse(new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, ""));
    return true;
  } catch {
    return false;
  }
}

/** The first of `types` (in the contract's order) that the content is, or undefined. */
export function sniffType(types: readonly string[], bytes: Uint8Array, whole: boolean): string | undefined {
  return types.find((type) => contentIs(type, bytes, whole));
}
