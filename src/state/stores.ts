/**
 * The two caches the planner and the builder use, as interfaces: where outputs are kept by content, and the
 * run-cache (a stage key -> the outputs it produced). The local ones (objects.ts, run-cache.ts) are always
 * there; a team cache (src/remote/) layers behind them without the planner knowing.
 */
import type { PathHash } from '../hash/types.js';
import type { ObjectProblem } from './objects.js';
import type { OutputRecord } from './records.js';

export interface RunCacheEntry {
  key: string;
  outs: OutputRecord[];
  outputHash: string;
  /** set when the entry came from the team cache rather than this machine's */
  from?: 'remote';
}

export interface OutputStore {
  /** Why the output cannot be restored, judged without reading its content; undefined when it can be. */
  problem(h: PathHash): Promise<ObjectProblem | undefined>;
  has(h: PathHash): Promise<boolean>;
  /** Stores the file or folder at absPath whose hash is known; `label` names it in errors. */
  put(absPath: string, h: PathHash, label?: string): Promise<void>;
  /** Recreates the output at absPath, every object verified first (ObjectUnavailable when one is not there or damaged). */
  restore(h: PathHash, absPath: string, label?: string): Promise<void>;
  /** Drops what `problem` finds damaged (never a missing object). */
  dropDamaged(h: PathHash): Promise<void>;
}

export interface RunCache {
  get(key: string): Promise<RunCacheEntry | undefined>;
  /** Remembers what a stage produced for its key (its outputs are already in the OutputStore). */
  put(entry: RunCacheEntry): Promise<void>;
}

/** One file of a fetched model snapshot: where it sits in the snapshot and its hub etag (SHA-256 or git SHA-1). */
export interface SnapshotFile {
  path: string;
  etag: string;
  size: number;
}

export interface SharedSnapshot {
  commit: string;
  files: SnapshotFile[];
}

/**
 * Fetch stages' snapshots shared by stage key (the team cache); this machine's copy is the model cache
 * itself (src/fetch). Absent from the engine when no team cache is configured.
 */
export interface SnapshotStore {
  /** The snapshot shared for `key`, from a record that passed every check. */
  get(key: string): Promise<SharedSnapshot | undefined>;
  /** Writes one file of a snapshot `get` returned into `dest`, its SHA-256 checked as it streams. */
  download(key: string, file: SnapshotFile, dest: string, onBytes?: (n: number) => void): Promise<void>;
  /** Shares a snapshot this machine fetched (in the background); `blobOf` is where each file's bytes are. */
  put(key: string, snapshot: SharedSnapshot, blobOf: (f: SnapshotFile) => string): void;
}
