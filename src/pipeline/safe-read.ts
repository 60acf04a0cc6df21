/**
 * Reads a file the loader was pointed at (the pipeline file, an import) only when it is a regular file: a
 * FIFO would block the read forever, /dev/zero never ends, a socket cannot be read. The file is opened
 * non-blocking and checked on the open descriptor, so what is checked is what is read; its size is capped.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';

export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

export class UnreadableFileError extends Error {}

export interface ReadOptions {
  maxBytes?: number;
  /** absolute folders the file (after every symlink) must lie in; undefined: anywhere */
  within?: string[];
}

export function readRegularFile(file: string, opts: ReadOptions = {}): Buffer {
  const maxBytes = opts.maxBytes ?? MAX_SOURCE_BYTES;
  if (opts.within) checkContainment(file, opts.within);
  const fd = openFile(file);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UnreadableFileError(`is ${kindOf(stat)}, not a regular file`);
    if (stat.size > maxBytes) throw new UnreadableFileError(tooBig(stat.size, maxBytes));
    return readAll(fd, stat.size, maxBytes);
  } finally {
    closeSync(fd);
  }
}

/** Why `file` cannot be read as a pipeline file, or undefined when it can (a regular file, maybe through symlinks). */
export function regularFileProblem(file: string): string | undefined {
  try {
    const fd = openFile(file);
    try {
      const stat = fstatSync(fd);
      return stat.isFile() ? undefined : `is ${kindOf(stat)}, not a regular file`;
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof UnreadableFileError) return err.message;
    throw err;
  }
}

function openFile(file: string): number {
  try {
    return openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new UnreadableFileError(describeErrno(err));
  }
}

function checkContainment(file: string, within: string[]): void {
  let real: string;
  try {
    real = realpathSync(file);
  } catch (err) {
    throw new UnreadableFileError(describeErrno(err));
  }
  const inside = within.some((dir) => {
    const rel = path.relative(realOrSelf(dir), real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
  if (!inside) throw new UnreadableFileError(`leads outside the project (to ${real}); pipe reads only files inside the project or under allow_outside`);
}

function realOrSelf(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** Reads at most maxBytes + 1 bytes: a file that grows while it is read is still refused, never read without end. */
function readAll(fd: number, expected: number, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let chunk = Buffer.allocUnsafe(Math.min(Math.max(expected + 1, 4096), maxBytes + 1));
  for (;;) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, maxBytes + 1 - total), null);
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    total += n;
    if (total > maxBytes) throw new UnreadableFileError(tooBig(total, maxBytes));
    chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
  }
  return Buffer.concat(chunks, total);
}

function tooBig(size: number, maxBytes: number): string {
  return `file is ${size} bytes; the limit is ${maxBytes} bytes (${maxBytes / (1024 * 1024)} MiB)`;
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'something other than a file';
}

function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'file not found';
    case 'ELOOP': return 'a symlink loop (too many levels of symbolic links)';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENXIO': return 'is a socket or a device without a reader, not a regular file';
    case 'ENOTDIR': return 'a part of the path is not a folder';
    case 'ENAMETOOLONG': return 'the path is too long';
    default: return `cannot read: ${code ?? String(err)}`;
  }
}
