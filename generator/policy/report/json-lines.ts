/**
 * Line numbers of JSON paths in a JSON text, so SARIF results point at the line of the field they
 * are about. A small scanner over well-formed JSON (the files were parsed strictly before); it
 * records where every value starts. A path not in the text resolves to its nearest ancestor.
 */

import { jsonPath } from "../../contract/json.js";

/** Path → 1-based line of the value (for members: the line of the key). */
export function valueLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let pos = 0;
  let line = 1;
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) {
      if (text[pos] === "\n") line++;
      pos++;
    }
  };
  const string = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const value = (path: string, at: number): void => {
    skip();
    if (!lines.has(path)) lines.set(path, at);
    const c = text[pos];
    if (c === "{") {
      pos++;
      skip();
      while (pos < text.length && text[pos] !== "}") {
        skip();
        const keyLine = line;
        const key = string();
        skip();
        pos++; // ':'
        value(jsonPath(path, key), keyLine);
        skip();
        if (text[pos] === ",") pos++;
        skip();
      }
      pos++;
    } else if (c === "[") {
      pos++;
      skip();
      let index = 0;
      while (pos < text.length && text[pos] !== "]") {
        skip();
        value(jsonPath(path, index++), line);
        skip();
        if (text[pos] === ",") pos++;
        skip();
      }
      pos++;
    } else if (c === '"') {
      string();
    } else {
      while (pos < text.length && !/[\s,\]}]/.test(text[pos])) pos++;
    }
  };
  skip();
  value("$", line);
  return lines;
}

/** The parent of a JSON path ("$.a.b[0]" → "$.a.b"), or undefined for "$". */
export function parentPath(path: string): string | undefined {
  if (path === "$") return undefined;
  if (!path.startsWith("$")) return "$";
  const match = /^(.*?)(\.[A-Za-z_$][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$/.exec(path);
  return match === null || match[1] === "" ? "$" : match[1];
}

/** The line of `path` in `lines`, or of its nearest ancestor present; 1 when none is. */
export function lineOf(lines: ReadonlyMap<string, number>, path: string): number {
  for (let p: string | undefined = path; p !== undefined; p = parentPath(p)) {
    const found = lines.get(p);
    if (found !== undefined) return found;
  }
  return 1;
}
