/**
 * An append-only log of checksummed JSON lines (like ninja's .ninja_log): a crash mid-append leaves a torn
 * last line that the next load ignores (and the next append, under the project lock, cuts it off first, so it
 * cannot swallow the line appended after it). The first line is a header naming the format (`{"format":1}`);
 * a log without one is read as format 1, and a log of a newer format is refused rather than misread.
 * The run records (records.ts) and the local run-cache (run-cache.ts) are each one such log.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { writeAll, writeFileAtomic } from '../util/atomic.js';
import { StorageError, UserError, isStorageFailure } from '../util/errors.js';

export const STATE_FORMAT = 1;
/** where a line's JSON starts: after its 8 hex digits of checksum and a space */
export const JSON_START = 9;

export class LineLog {
  private fd: number | undefined;
  private lastSync = 0;
  /** whole lines in the file, header included */
  lines = 0;

  /** `redact` masks secrets in a line before it is stored (a token passed with --set into a command) */
  constructor(readonly file: string, private readonly redact: (json: string) => string = (json) => json) {}

  /** The verified lines of the log (raw, checksum included), or none when it does not exist. */
  read(): string[] {
    if (!existsSync(this.file)) return [];
    const text = readFileSync(this.file, 'utf8');
    checkFormat(this.file, text);
    const whole = text.split('\n').filter(verified);
    this.lines = whole.length;
    return whole;
  }

  /**
   * Survives a killed process once it returns. Lines are fsynced at most once a second and on close: a power
   * loss can only drop recent lines, which makes those stages run again, never skip wrongly.
   */
  append(values: unknown[]): void {
    try {
      this.fd ??= this.openForAppend();
      appendWhole(this.fd, Buffer.from(values.map((v) => this.format(v)).join('')));
      if (Date.now() - this.lastSync > 1000) this.sync();
    } catch (err) {
      throw this.storageError(err);
    }
    this.lines += values.length;
  }

  /** Replaces the log with these values after a header. Call under the project lock. */
  rewrite(values: unknown[]): void {
    this.close();
    const lines = [this.format({ format: STATE_FORMAT }), ...values.map((v) => this.format(v))];
    try {
      writeFileAtomic(this.file, lines.join(''));
    } catch (err) {
      throw this.storageError(err);
    }
    this.lines = lines.length;
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } catch (err) {
      throw this.storageError(err);
    } finally {
      closeSync(fd);
    }
  }

  private storageError(err: unknown): unknown {
    return isStorageFailure(err) ? new StorageError(`could not write ${path.relative(process.cwd(), this.file) || this.file}`, err) : err;
  }

  /** A new log starts with its header; a torn last line (a crash mid-append) is cut off before anything follows it. */
  private openForAppend(): number {
    const fd = openSync(this.file, 'a+');
    const size = fstatSync(fd).size;
    const whole = size === 0 ? 0 : endOfLastLine(fd, size);
    if (whole < size) ftruncateSync(fd, whole);
    if (whole === 0) {
      writeAll(fd, Buffer.from(this.format({ format: STATE_FORMAT })));
      this.lines++;
    }
    return fd;
  }

  private format(value: unknown): string {
    const json = this.redact(JSON.stringify(value));
    return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
  }

  private sync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
    this.lastSync = Date.now();
  }
}

/** The JSON of a verified line, or undefined when it is not JSON (cannot happen unless written by something else). */
export function parseLine<T>(raw: string): T | undefined {
  try {
    return JSON.parse(raw.slice(JSON_START)) as T;
  } catch {
    return undefined;
  }
}

/**
 * Writes all of `data` at the end of the log, or nothing: a write cut short (a full disk) is cut back off, so
 * the next line never starts after a torn one.
 */
function appendWhole(fd: number, data: Buffer): void {
  let written = 0;
  try {
    while (written < data.length) written += writeSync(fd, data, written);
  } catch (err) {
    if (written > 0) ftruncateSync(fd, fstatSync(fd).size - written);
    throw err;
  }
}

const NEWLINE = 0x0a;
const SCAN_CHUNK = 64 * 1024;

/** The offset just past the file's last newline (0 when it has none): where its whole lines end. */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.alloc(SCAN_CHUNK);
  for (let end = size; end > 0; end -= SCAN_CHUNK) {
    const start = Math.max(0, end - SCAN_CHUNK);
    const read = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, read).lastIndexOf(NEWLINE);
    if (at >= 0) return start + at + 1;
  }
  return 0;
}

/**
 * Refuses a log whose header names a format this pipe does not know, however the header's JSON is spelled;
 * a log without a header is format 1.
 */
function checkFormat(file: string, text: string): void {
  const end = text.indexOf('\n');
  const first = end < 0 ? text : text.slice(0, end);
  if (!verified(first)) return;
  const format = headerFormat(first.slice(JSON_START));
  if (format === undefined || format === STATE_FORMAT) return;
  const which = typeof format === 'number' && Number.isInteger(format) && format > STATE_FORMAT
    ? `state format ${format}, newer than this pipe's (format ${STATE_FORMAT}); use the newer pipe that wrote it`
    : `state format ${JSON.stringify(format)}, which no pipe of this line writes (this one writes format ${STATE_FORMAT})`;
  throw new UserError(`${file}: written in ${which}, or move the .pipe folder aside to start afresh`);
}

/** The `format` of a header line, or undefined when the line is a record. */
function headerFormat(json: string): unknown {
  try {
    const line = JSON.parse(json) as unknown;
    if (typeof line !== 'object' || line === null || Array.isArray(line) || !('format' in line)) return undefined;
    return (line as { format: unknown }).format ?? null;
  } catch {
    return undefined;
  }
}

/** The checksum matches: the line was written whole (a torn last line after a crash does not). */
function verified(raw: string): boolean {
  if (raw.length <= JSON_START || raw[8] !== ' ') return false;
  return crc32(raw.slice(JSON_START)).toString(16).padStart(8, '0') === raw.slice(0, 8);
}
