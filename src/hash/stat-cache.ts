import { readFileSync, statSync, type BigIntStats } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { loadCacheFile, saveCacheFile, type CachedFile } from './cache-file.js';
import { CHUNK_BYTES, DIGEST_NAME, digestBytes, digestFile } from './digest.js';
import { ABSENT, isExecutable, isRacy, racyWindowNs, statKey, UNTRUSTED, wallClockNs } from './stat-key.js';
import { compareEntries, treeDigest } from './tree-digest.js';
import type { PathHash, TreeEntry } from './types.js';
import { walkFiles, type PassedOver, type WalkedFile } from './walk.js';

/** A path and its stat key when a hash covering it was taken: ABSENT if it did not exist, UNTRUSTED if the hash may not match the stat. */
export type HashedStat = [abs: string, key: string];

export interface StatCacheOptions {
  /**
   * Remember every result for the life of this object, so a path is stat'ed once (an output checked for
   * its producer is not stat'ed again as the dep of its consumers). For one run of the engine, where
   * only stages change files and their outputs are invalidated before they run.
   */
  memoize?: boolean;
  /** How close to "now" a file's mtime/ctime may be before its hash is not trusted (default: from the filesystem's timestamp precision, see racyWindowNs). */
  racyWindowMs?: number;
}

/** Stat-only work is done synchronously; give the event loop a turn this often so a spinner moves. */
const YIELD_EVERY_MS = 8;
/** Stat changes seen while a file is read: retry this often, then return the hash without caching it. */
const MAX_READ_ATTEMPTS = 3;

export class StatCache {
  /** What this process actually read, for logs and tests. */
  readonly counters = { filesRead: 0, bytesRead: 0 };
  private entries: Map<string, CachedFile> | undefined;
  private dirty = false;
  /** what this process already saw, path -> result */
  private readonly seen = new Map<string, PathHash>();
  /** path -> the stats its last hash in this process was taken under (a folder: its own, its sub-folders' and its files') */
  private readonly hashedUnder = new Map<string, HashedStat[]>();
  private readonly memoize: boolean;
  private readonly racyWindowNs: bigint | undefined;
  /** the cache file as this process loaded it (fileIdentity) */
  private loadedIdentity: string | undefined;

  constructor(
    private readonly file: string,
    options: StatCacheOptions = {},
  ) {
    this.racyWindowNs = options.racyWindowMs === undefined ? undefined : BigInt(Math.round(options.racyWindowMs * 1e6));
    this.memoize = options.memoize ?? false;
  }

  /** Content hash of a file or folder; re-reads only files whose stat changed since they were last hashed. */
  async hash(absPath: string): Promise<PathHash> {
    const result = await this.hashUncached(absPath);
    if (this.memoize) this.seen.set(absPath, result);
    return result;
  }

  /**
   * Forgets what this process saw of a path (call before a stage may rewrite it). Within one run a path is
   * stat'ed once: an output checked for its producer is not stat'ed again as the dep of its consumers.
   */
  invalidate(absPath: string): void {
    this.seen.delete(absPath);
    this.hashedUnder.delete(absPath);
  }

  /**
   * The stats under which this process last hashed or confirmed the path (a file; a folder and everything
   * below it), or undefined if it did not. Whoever vouches later that nothing changed since the hash (the
   * no-op snapshot) must compare with these, not with a fresh stat taken after the fact.
   */
  statsHashedUnder(absPath: string): readonly HashedStat[] | undefined {
    return this.hashedUnder.get(absPath);
  }

  /**
   * The hash of a file pipe itself just wrote from content it had checked (a restore from the cache), so the
   * file is not read again: remembered as a hash read now would be (not persisted while its stat is racy).
   */
  vouchFile(absPath: string, hash: string): void {
    const st = statSync(absPath, { bigint: true, throwIfNoEntry: false });
    if (!st?.isFile()) return;
    const trusted = this.remember(absPath, st, hash, wallClockNs());
    this.hashedUnder.set(absPath, [[absPath, trusted ? statKey(st) : UNTRUSTED]]);
    if (this.memoize) this.seen.set(absPath, { kind: 'file', hash, size: Number(st.size), exec: isExecutable(st) });
  }

  private async hashUncached(absPath: string): Promise<PathHash> {
    const st = statSync(absPath, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      this.hashedUnder.set(absPath, [[absPath, ABSENT]]);
      return this.forgetMissing(absPath);
    }
    if (st.isFile()) {
      const hashed = await this.hashFile(absPath, st);
      this.hashedUnder.set(absPath, [[absPath, hashedKey(hashed)]]);
      return { kind: 'file', hash: hashed.hash, size: Number(st.size), exec: isExecutable(st) };
    }
    if (st.isDirectory()) return this.hashDir(absPath, st);
    throw new Error(`${absPath} is neither a file nor a folder`);
  }

  /** The cached result if every stat still matches and is not racy, else undefined. Reads no content. */
  peek(absPath: string): PathHash | undefined {
    const seen = this.seen.get(absPath);
    if (seen) return seen;
    const result = this.peekUncached(absPath);
    if (result && this.memoize) this.seen.set(absPath, result);
    return result;
  }

  private peekUncached(absPath: string): PathHash | undefined {
    const st = statSync(absPath, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      this.hashedUnder.set(absPath, [[absPath, ABSENT]]);
      return { kind: 'missing', hash: '', size: 0 };
    }
    if (st.isFile()) {
      const hash = this.cachedHash(absPath, st);
      if (hash === undefined) return undefined;
      this.hashedUnder.set(absPath, [[absPath, statKey(st)]]); // a cached hash was stored only when not racy
      return { kind: 'file', hash, size: Number(st.size), exec: isExecutable(st) };
    }
    if (!st.isDirectory()) return undefined;
    const entries: TreeEntry[] = [];
    const stats = this.folderStats(absPath, st);
    for (const f of walkFiles(absPath, st, stats.passedOver)) {
      const hash = this.cachedHash(f.abs, f.st);
      if (hash === undefined) return undefined;
      stats.list.push([f.abs, statKey(f.st)]);
      entries.push(toEntry(f, hash));
    }
    this.hashedUnder.set(absPath, stats.list);
    return dirResult(entries);
  }

  /** The stats of a folder being walked: its own and each sub-folder's (a new entry changes them), each dangling link. */
  private folderStats(absPath: string, st: BigIntStats): { list: HashedStat[]; passedOver: PassedOver } {
    const list: HashedStat[] = [];
    const folderKey = (s: BigIntStats) => (isRacy(s, wallClockNs(), this.racyWindowNs ?? racyWindowNs(s)) ? UNTRUSTED : statKey(s));
    list.push([absPath, folderKey(st)]);
    return { list, passedOver: (abs, s) => void list.push([abs, s ? folderKey(s) : ABSENT]) };
  }

  /** Persist atomically if anything changed; a concurrent writer may win, but the file is never torn. */
  save(): void {
    if (!this.dirty || !this.entries) return;
    saveCacheFile(this.file, DIGEST_NAME, this.entries);
    this.dirty = false;
  }

  /**
   * For a command that holds no lock (a dry run, status): persist what it hashed, unless someone saved the
   * file since this process loaded it (a run that finished meanwhile); its entries are not overwritten.
   * The hashes are keyed by stat, so either file is sound: this only spares the next command the reads.
   */
  saveIfUnchanged(): void {
    if (!this.dirty || !this.entries || fileIdentity(this.file) !== this.loadedIdentity) return;
    this.save();
  }

  private map(): Map<string, CachedFile> {
    if (!this.entries) {
      this.loadedIdentity = fileIdentity(this.file);
      this.entries = loadCacheFile(this.file, DIGEST_NAME);
    }
    return this.entries;
  }

  private cachedHash(absPath: string, st: BigIntStats): string | undefined {
    const entry = this.map().get(absPath);
    return entry && entry.key === statKey(st) ? entry.hash : undefined;
  }

  private forgetMissing(absPath: string): PathHash {
    if (this.map().delete(absPath)) this.dirty = true;
    return { kind: 'missing', hash: '', size: 0 };
  }

  private async hashDir(absPath: string, st: BigIntStats): Promise<PathHash> {
    const entries: TreeEntry[] = [];
    const stats = this.folderStats(absPath, st);
    let sliceStart = performance.now();
    for (const f of walkFiles(absPath, st, stats.passedOver)) {
      const hashed = await this.hashFile(f.abs, f.st);
      stats.list.push([f.abs, hashedKey(hashed)]);
      entries.push(toEntry({ ...f, st: hashed.st }, hashed.hash));
      if (performance.now() - sliceStart > YIELD_EVERY_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    this.hashedUnder.set(absPath, stats.list);
    return dirResult(entries);
  }

  /** `trusted`: the content read is the one `st` describes (it did not change while read, and was not racy). */
  private async hashFile(absPath: string, st: BigIntStats): Promise<HashedFile> {
    const cached = this.cachedHash(absPath, st);
    if (cached !== undefined) return { hash: cached, st, trusted: true };
    let before = st;
    for (let attempt = 1; ; attempt++) {
      const startedNs = wallClockNs();
      const hash = await this.readAndDigest(absPath, before);
      const after = statSync(absPath, { bigint: true, throwIfNoEntry: false });
      if (after && statKey(after) === statKey(before)) {
        return { hash, st: after, trusted: this.remember(absPath, after, hash, startedNs) };
      }
      if (!after || attempt >= MAX_READ_ATTEMPTS) return { hash, st: after ?? before, trusted: false }; // still changing: do not cache
      before = after;
    }
  }

  private async readAndDigest(absPath: string, st: BigIntStats): Promise<string> {
    this.counters.filesRead++;
    if (st.size <= BigInt(CHUNK_BYTES)) {
      const data = readFileSync(absPath); // one short blocking read beats a thread-pool round trip for small files
      this.counters.bytesRead += data.length;
      return digestBytes(data);
    }
    const { hash, size } = await digestFile(absPath);
    this.counters.bytesRead += size;
    return hash;
  }

  /** Caches the hash unless it is racy; says whether it did. */
  private remember(absPath: string, st: BigIntStats, hash: string, startedNs: bigint): boolean {
    const map = this.map();
    if (isRacy(st, startedNs, this.racyWindowNs ?? racyWindowNs(st))) {
      if (map.delete(absPath)) this.dirty = true;
      return false;
    }
    const key = statKey(st);
    const old = map.get(absPath);
    if (old && old.key === key && old.hash === hash) return true;
    map.set(absPath, { key, hash });
    this.dirty = true;
    return true;
  }
}

/** Which version of a file this is: a rewrite (atomic rename) changes the inode, a write in place the size or mtime. */
function fileIdentity(file: string): string {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : 'absent';
}

interface HashedFile {
  hash: string;
  st: BigIntStats;
  trusted: boolean;
}

function hashedKey(f: HashedFile): string {
  return f.trusted ? statKey(f.st) : UNTRUSTED;
}

function toEntry(f: WalkedFile, hash: string): TreeEntry {
  return { path: f.rel, hash, size: Number(f.st.size), exec: isExecutable(f.st) };
}

function dirResult(entries: TreeEntry[]): PathHash {
  entries.sort(compareEntries);
  let size = 0;
  for (const e of entries) size += e.size;
  return { kind: 'dir', hash: treeDigest(entries), size, entries };
}
