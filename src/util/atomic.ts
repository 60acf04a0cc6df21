/** Atomic file writes: a temp file in the same folder, fsync, rename. A crash leaves the old or the new file. */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * `durable: false` skips the fsync, for a file whose reader checks it whole (a digest) and remakes it when a
 * crash left it torn: the rename still keeps readers from a half-written one while this process lives.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | Uint8Array[], opts: { durable?: boolean } = {}): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = tempPathOf(file);
  try {
    const fd = openSync(temp, 'w');
    try {
      for (const part of Array.isArray(data) ? data : [data]) writeAll(fd, typeof part === 'string' ? Buffer.from(part) : part);
      if (opts.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * A temp name beside `file` in the form recovery removes once its pid is dead (`.tmp-<pid>-<letters and digits>`,
 * src/state/recover.ts); a name of another form is left behind for good by a kill.
 */
export function tempPathOf(file: string): string {
  return `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * write(2) may write less than asked without an error (a disk that fills mid-write): keep writing until all is
 * written, so the next call reports ENOSPC instead of a short file being taken for a whole one.
 */
export function writeAll(fd: number, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written);
}
