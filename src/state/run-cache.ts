/**
 * The local run-cache: stage key -> the outputs a run with that key produced, so a reverted input restores
 * earlier outputs instead of running. Its own log (.pipe/run-cache.log, checksummed lines like the records);
 * entries are parsed only when asked for (most never are).
 */
import { LineLog, parseLine, JSON_START } from './line-log.js';
import type { RecordStore } from './records.js';
import type { RunCache, RunCacheEntry } from './stores.js';

export type { RunCacheEntry } from './stores.js';

const COMPACT_MIN_LINES = 2000;
const PREFIX = '{"r":{"key":"';

export class LocalRunCache implements RunCache {
  /** key -> entry, or its line not parsed yet */
  private readonly entries = new Map<string, RunCacheEntry | string>();
  private readonly log: LineLog;

  /** `legacy`: the entries an older state.log held (RecordStore.legacyRuns), read until they are saved here */
  constructor(file: string, private readonly legacy: Map<string, string>, redact?: (json: string) => string) {
    this.log = new LineLog(file, redact);
  }

  load(): this {
    for (const raw of this.log.read()) if (raw.startsWith(PREFIX, JSON_START)) this.entries.set(keyOf(raw), raw);
    return this;
  }

  async get(key: string): Promise<RunCacheEntry | undefined> {
    return this.lookup(key);
  }

  async put(entry: RunCacheEntry): Promise<void> {
    this.add(entry);
  }

  lookup(key: string): RunCacheEntry | undefined {
    const found = this.entries.get(key) ?? this.legacy.get(key);
    if (typeof found !== 'string') return found;
    const parsed = parseLine<{ r: RunCacheEntry }>(found)?.r;
    if (parsed) this.entries.set(key, parsed);
    return parsed;
  }

  add(entry: RunCacheEntry): void {
    const { key, outs, outputHash } = entry;
    const known = this.lookup(key);
    if (known && known.outputHash === outputHash && JSON.stringify(known.outs) === JSON.stringify(outs)) return;
    const clean = { key, outs, outputHash };
    this.log.append([{ r: clean }]);
    this.entries.set(key, clean);
  }

  all(): RunCacheEntry[] {
    const keys = new Set([...this.entries.keys(), ...this.legacy.keys()]);
    return [...keys].flatMap((key) => this.lookup(key) ?? []);
  }

  /** Keeps only the entries whose key is in `keep`, taking over the legacy ones first. Call under the project lock. */
  retain(keep: ReadonlySet<string>, records: RecordStore): void {
    const live = this.all().filter((e) => keep.has(e.key));
    this.entries.clear();
    for (const e of live) this.entries.set(e.key, e);
    this.log.rewrite(live.map((r) => ({ r })));
    this.legacy.clear();
    records.rewrite();
  }

  /** Rewrites both logs when either has grown well past its live entries. Call under the project lock. */
  compactIfLarge(records: RecordStore): void {
    const mine = this.log.lines >= COMPACT_MIN_LINES && this.log.lines >= 2 * this.entries.size;
    if (!mine && !records.large && this.legacy.size === 0) return;
    const all = this.all();
    try {
      this.log.rewrite(all.map((r) => ({ r })));
    } catch {
      return; // the old logs are intact: compaction can wait (a full disk)
    }
    this.legacy.clear();
    records.rewrite();
  }

  close(): void {
    this.log.close();
  }
}

function keyOf(raw: string): string {
  const start = JSON_START + PREFIX.length;
  return raw.slice(start, raw.indexOf('"', start));
}
