/**
 * The run records: what each stage last ran with (its key and the parts of it) and what it produced. The
 * run-cache (key -> outputs) is its own store (run-cache.ts); a log written before the split still holds
 * run-cache lines, which are read here and handed to it.
 *
 * Stored as an append-only log of checksummed lines (line-log.ts), one per completed stage, compacted when
 * it grows.
 */
import { LineLog, parseLine, JSON_START } from './line-log.js';
import type { RunCacheEntry } from './run-cache.js';
import { StorageError } from '../util/errors.js';

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

type Line = { s: StageRecord } | { r: RunCacheEntry } | { forget: string } | { format: number };

export { STATE_FORMAT } from './line-log.js';

const COMPACT_MIN_LINES = 2000;
const RUN_PREFIX = '{"r":{"key":"';

export class RecordStore {
  private readonly stages = new Map<string, StageRecord>();
  /** run-cache lines of a log from before the run-cache had its own store: key -> raw line */
  private readonly legacy = new Map<string, string>();
  private readonly log: LineLog;

  constructor(readonly file: string, redact?: (json: string) => string) {
    this.log = new LineLog(file, redact);
  }

  load(): this {
    for (const raw of this.log.read()) {
      if (raw.startsWith(RUN_PREFIX, JSON_START)) this.legacy.set(legacyKey(raw), raw);
      else {
        const line = parseLine<Line>(raw);
        if (line) this.apply(line);
      }
    }
    return this;
  }

  stage(name: string): StageRecord | undefined {
    return this.stages.get(name);
  }

  allStages(): StageRecord[] {
    return [...this.stages.values()];
  }

  /** Run-cache entries found in a log written before the split (the run-cache takes them over). */
  legacyRuns(): Map<string, string> {
    return this.legacy;
  }

  record(rec: StageRecord): void {
    this.append([{ s: rec }]);
  }

  forget(name: string): void {
    if (this.stages.has(name)) this.append([{ forget: name }]);
  }

  /** The log has grown well past its live entries. */
  get large(): boolean {
    return this.log.lines >= COMPACT_MIN_LINES && this.log.lines >= 2 * (this.stages.size + this.legacy.size);
  }

  /**
   * Rewrites the log with the stage records only; the run-cache must have taken over the legacy entries first.
   * Call under the project lock. A full disk leaves the old log intact: compaction can wait for free space.
   */
  rewrite(): void {
    try {
      this.log.rewrite([...this.stages.values()].map((s) => ({ s })));
      this.legacy.clear();
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
    }
  }

  close(): void {
    this.log.close();
  }

  private append(lines: Line[]): void {
    this.log.append(lines);
    for (const line of lines) this.apply(line);
  }

  private apply(line: Line): void {
    if ('format' in line || 'r' in line) return;
    if ('s' in line) this.stages.set(line.s.name, line.s);
    else this.stages.delete(line.forget);
  }
}

function legacyKey(raw: string): string {
  const start = JSON_START + RUN_PREFIX.length;
  return raw.slice(start, raw.indexOf('"', start));
}
