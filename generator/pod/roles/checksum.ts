/**
 * Streamed sha256 of a file, never holding more than one read buffer: open without following a
 * symbolic link, check through the open descriptor that it is a regular file (so it cannot be
 * swapped between the check and the read), then read in large blocks into OpenSSL's sha256. Other
 * consumers of the same bytes (the raw-record index) ride along on the same pass.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";

/** 1 MiB reads: measured as fast as larger ones here, and small beside the role's memory limit. */
export const READ_BUFFER_BYTES = 1 << 20;

export type OpenProblem = "missing" | "symbolic-link" | "not-a-file";

export interface FileDigest {
  readonly size: number;
  readonly sha256: string;
}

export class OpenFileError extends Error {
  readonly problem: OpenProblem;

  constructor(problem: OpenProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

function openRegular(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new OpenFileError("missing", "does not exist");
    if (code === "ELOOP") throw new OpenFileError("symbolic-link", "is a symbolic link");
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new OpenFileError("not-a-file", "is not a regular file");
  }
  return fd;
}

/** sha256 and size of a regular file; `onChunk` sees every byte in order (the buffer is reused after it returns). */
export function hashFile(path: string, onChunk?: (chunk: Uint8Array) => void, bufferBytes = READ_BUFFER_BYTES): FileDigest {
  const fd = openRegular(path);
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(bufferBytes);
    let size = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, bufferBytes, null);
      if (n === 0) break;
      const chunk = n === bufferBytes ? buffer : buffer.subarray(0, n);
      hash.update(chunk);
      onChunk?.(chunk);
      size += n;
    }
    return { size, sha256: hash.digest("hex") };
  } finally {
    closeSync(fd);
  }
}
