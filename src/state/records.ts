/**
 * The run records: what each stage last ran with (its key and the parts of it) and what it produced, plus the
 * run-cache (key -> outputs) that lets a reverted input restore earlier outputs without running anything.
 *
 * Stored as an append-only log (like ninja's .ninja_log): one checksummed JSON line per completed stage, so a
 * crash mid-append leaves a torn last line that the next load ignores (and the next append, under the project
 * lock, cuts it off first, so it cannot swallow the line appended after it). The log is compacted when it grows.
 *
 * The first line is a header naming the format (`{"format":1}`); a log without one (written before the header
 * existed) is read as format 1, and a log of a newer format is refused rather than misread.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from '../util/atomic.js';
import { StorageError, UserError, isStorageFailure } from '../util/errors.js';

/** An output as recorded: its content hash (a folder's entries live in the object store's tree). */
export interface OutputRecord {
  path: string;
  kind: 'file' | 'dir' | 'missing';
  hash: string;
  size: number;
  exec?: boolean;
}

export interface KeyParts {
  /** the key format (src/plan/inputs.ts KEY_FORMAT); absent in records of the first format */
  format?: number;
  cmd?: string;
  fetch?: string;
  params: Record<string, unknown>;
  /** every variable pipe sets for the stage, as keyed (src/plan/environment-key.ts) */
  env: Record<string, string>;
  /** dep path (or each file a glob matched) -> content hash, with "+x" for an executable file */
  deps: Record<string, string>;
  /** upstream stage -> its output hash */
  upstream: Record<string, string>;
  /** the declared outputs: two stages with the same command but other outputs never share a run-cache entry */
  outs?: string[];
  /** the folder the command runs in, when not the project root */
  cwd?: string;
  /** false: the stage runs without network access */
  network?: boolean;
}

export interface StageRecord {
  name: string;
  key: string;
  parts: KeyParts;
  outs: OutputRecord[];
  /** digest over the outputs: what downstream keys see (equal outputs = early cutoff) */
  outputHash: string;
  /** ISO time the run finished, and how long it took */
  at: string;
  ms: number;
}

export interface RunCacheEntry {
  key: string;
  outs: OutputRecord[];
  outputHash: string;
}

type Line = { s: StageRecord } | { r: RunCacheEntry } | { forget: string } | { format: number };

export const STATE_FORMAT = 1;

const COMPACT_MIN_LINES = 2000;

export class RecordStore {
  private readonly stages = new Map<string, StageRecord>();
  /** key -> entry, or its JSON line not parsed yet (most are never asked for) */
  private readonly runs = new Map<string, RunCacheEntry | string>();
  private lines = 0;
  private fd: number | undefined;
  private lastSync = 0;

  /** `redact` masks secrets in a line before it is stored (a token passed with --set into a command) */
  constructor(readonly file: string, private readonly redact: (json: string) => string = (json) => json) {}

  load(): this {
    if (!existsSync(this.file)) return this;
    const text = readFileSync(this.file, 'utf8');
    checkFormat(this.file, text);
    for (const raw of text.split('\n')) {
      if (!verified(raw)) continue;
      this.lines++;
      const lazyKey = runCacheKey(raw);
      if (lazyKey) this.runs.set(lazyKey, raw);
      else this.applyJson(raw);
    }
    return this;
  }

  stage(name: string): StageRecord | undefined {
    return this.stages.get(name);
  }

  run(key: string): RunCacheEntry | undefined {
    const entry = this.runs.get(key);
    if (typeof entry !== 'string') return entry;
    const parsed = (JSON.parse(entry.slice(JSON_START)) as { r: RunCacheEntry }).r;
    this.runs.set(key, parsed);
    return parsed;
  }

  allStages(): StageRecord[] {
    return [...this.stages.values()];
  }

  allRuns(): RunCacheEntry[] {
    return [...this.runs.keys()].map((key) => this.run(key)!);
  }

  /**
   * Survives a killed process once it returns. Lines are fsynced at most once a second and on close: a power
   * loss can only drop recent records, which makes those stages run again, never skip wrongly.
   */
  record(rec: StageRecord): void {
    this.append([{ s: rec }, { r: { key: rec.key, outs: rec.outs, outputHash: rec.outputHash } }]);
  }

  forget(name: string): void {
    if (this.stages.has(name)) this.append([{ forget: name }]);
  }

  /** Drops run-cache entries whose key is not in `keep`, and rewrites the log. Call under the project lock. */
  retainRuns(keep: ReadonlySet<string>): void {
    for (const key of [...this.runs.keys()]) if (!keep.has(key)) this.runs.delete(key);
    this.rewrite();
  }

  /** Rewrites the log with only live entries when it has grown well past them. Call under the project lock. */
  compactIfLarge(): void {
    const live = this.stages.size + this.runs.size;
    if (this.lines < COMPACT_MIN_LINES || this.lines < 2 * live) return;
    try {
      this.rewrite();
    } catch (err) {
      if (!(err instanceof StorageError)) throw err; // the old log is intact: compaction can wait for free space
    }
  }

  private rewrite(): void {
    this.close();
    const lines = [this.format({ format: STATE_FORMAT })]
      .concat([...this.stages.values()].map((s) => this.format({ s })), this.allRuns().map((r) => this.format({ r })));
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
    return isStorageFailure(err) ? new StorageError(`could not write the run records ${path.relative(process.cwd(), this.file) || this.file}`, err) : err;
  }

  private append(lines: Line[]): void {
    try {
      this.fd ??= this.openForAppend();
      appendWhole(this.fd, Buffer.from(lines.map((line) => this.format(line)).join('')));
      if (Date.now() - this.lastSync > 1000) this.sync();
    } catch (err) {
      throw this.storageError(err);
    }
    for (const line of lines) this.apply(line);
    this.lines += lines.length;
  }

  /** A new log starts with its header; a torn last line (a crash mid-append) is cut off before anything follows it. */
  private openForAppend(): number {
    const fd = openSync(this.file, 'a+');
    const size = fstatSync(fd).size;
    const whole = size === 0 ? 0 : endOfLastLine(fd, size);
    if (whole < size) ftruncateSync(fd, whole);
    if (whole === 0) writeSync(fd, this.format({ format: STATE_FORMAT }));
    return fd;
  }

  private format(line: Line): string {
    return formatLine(line, this.redact);
  }

  private sync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
    this.lastSync = Date.now();
  }

  private applyJson(raw: string): void {
    try {
      this.apply(JSON.parse(raw.slice(JSON_START)) as Line);
    } catch {
      /* a checksummed line that is not JSON cannot happen unless written by something else: ignore it */
    }
  }

  private apply(line: Line): void {
    if ('format' in line) return;
    if ('s' in line) this.stages.set(line.s.name, line.s);
    else if ('r' in line) this.runs.set(line.r.key, line.r);
    else this.stages.delete(line.forget);
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

function formatLine(line: Line, redact: (json: string) => string = (json) => json): string {
  const json = redact(JSON.stringify(line));
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

const JSON_START = 9;
const RUN_PREFIX = '{"r":{"key":"';

/** The checksum matches: the line was written whole (a torn last line after a crash does not). */
function verified(raw: string): boolean {
  if (raw.length <= JSON_START || raw[8] !== ' ') return false;
  return crc32(raw.slice(JSON_START)).toString(16).padStart(8, '0') === raw.slice(0, 8);
}

/** The key of a run-cache line, read without parsing the JSON. */
function runCacheKey(raw: string): string | undefined {
  if (!raw.startsWith(RUN_PREFIX, JSON_START)) return undefined;
  const start = JSON_START + RUN_PREFIX.length;
  const end = raw.indexOf('"', start);
  return end > start ? raw.slice(start, end) : undefined;
}

