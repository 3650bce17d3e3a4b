/**
 * Reads what a shared library or program needs from its ELF dynamic section: the DT_NEEDED
 * sonames and its DT_RPATH/DT_RUNPATH. Pure (bytes in, names out), parsing only: nothing is
 * loaded or run, so it is safe on the untrusted binaries of wheels. 64-bit little-endian only
 * (x86_64, the platform environments are built for); anything else is "not ELF" to it.
 */

export interface DynamicInfo {
  readonly needed: readonly string[];
  /** RPATH and RUNPATH entries, as written ($ORIGIN not expanded). */
  readonly searchPath: readonly string[];
}

const ELF_MAGIC = 0x464c457f;
const SHT_DYNAMIC = 6;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/** Whether the bytes start like a 64-bit little-endian ELF file. */
export function isElf64(bytes: Uint8Array): boolean {
  if (bytes.length < 64) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(0, true) === ELF_MAGIC && bytes[4] === 2 && bytes[5] === 1;
}

function cString(bytes: Uint8Array, offset: number): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end += 1;
  return Buffer.from(bytes.subarray(offset, end)).toString("utf8");
}

/** Reads `length` bytes at `offset` of the file (fewer at its end). */
export type ReadAt = (offset: number, length: number) => Uint8Array;

/** Reads from a buffer held in memory. */
export function bufferReader(bytes: Uint8Array): ReadAt {
  return (offset, length) => bytes.subarray(Math.max(0, offset), Math.max(0, Math.min(bytes.length, offset + length)));
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The dynamic section of a 64-bit little-endian ELF file, or undefined when it is not one or has
 * none (a static binary, an object file). Only the header, the section headers, the dynamic
 * section and its string table are read (a 500 MB library costs a few kilobytes). Out-of-range
 * offsets make it undefined, never throw.
 */
export function readDynamic(read: ReadAt): DynamicInfo | undefined {
  const header = read(0, 64);
  if (!isElf64(header)) return undefined;
  const view = viewOf(header);
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  if (shoff === 0 || shentsize < 64 || shnum === 0 || shnum * shentsize > 16 * 1024 * 1024) return undefined;
  const table = read(shoff, shentsize * shnum);
  if (table.length !== shentsize * shnum) return undefined;
  const sections = viewOf(table);
  const section = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } => {
    const at = i * shentsize;
    return {
      type: sections.getUint32(at + 4, true),
      offset: Number(sections.getBigUint64(at + 0x18, true)),
      size: Number(sections.getBigUint64(at + 0x20, true)),
      link: sections.getUint32(at + 0x28, true),
      entsize: Number(sections.getBigUint64(at + 0x38, true)),
    };
  };
  for (let i = 0; i < shnum; i += 1) {
    const dynamic = section(i);
    if (dynamic.type !== SHT_DYNAMIC) continue;
    if (dynamic.link >= shnum || dynamic.size > 16 * 1024 * 1024) return undefined;
    const strings = section(dynamic.link);
    if (strings.size > 64 * 1024 * 1024) return undefined;
    const entries = read(dynamic.offset, dynamic.size);
    const table = read(strings.offset, strings.size);
    if (entries.length !== dynamic.size || table.length !== strings.size) return undefined;
    const dyn = viewOf(entries);
    const needed: string[] = [];
    const searchPath: string[] = [];
    const entsize = dynamic.entsize >= 16 ? dynamic.entsize : 16;
    for (let at = 0; at + 16 <= entries.length; at += entsize) {
      const tag = Number(dyn.getBigInt64(at, true));
      if (tag === DT_NULL) break;
      const value = Number(dyn.getBigUint64(at + 8, true));
      if (tag !== DT_NEEDED && tag !== DT_RPATH && tag !== DT_RUNPATH) continue;
      if (value >= table.length) return undefined;
      const text = cString(table, value);
      if (tag === DT_NEEDED) needed.push(text);
      else searchPath.push(...text.split(":").filter((entry) => entry !== ""));
    }
    return { needed, searchPath };
  }
  return undefined;
}
