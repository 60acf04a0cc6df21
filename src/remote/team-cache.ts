/**
 * The team cache: stage records and blobs shared over HTTP (client.ts), kept behind this machine's caches.
 * Lookups ask `ac/<key>` and check the record (record.ts); restoring downloads each blob into the local
 * store, verified by SHA-256 and by the local digest, then restores locally. Uploads run in the background,
 * blobs first and the record last (so a half-finished upload is never a hit); `finish` waits for them.
 * Faults never fail a build: the first one is said once and the team cache is left alone for the rest of
 * the command.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { PathHash, TreeEntry } from '../hash/types.js';
import type { LocalCaches } from '../plan/context.js';
import type { OutputRecord } from '../state/records.js';
import type { RunCacheEntry, SharedSnapshot, SnapshotFile } from '../state/stores.js';
import { ObjectUnavailable } from '../state/objects.js';
import { BlobMismatch, CacheClient, type ClientOptions, DEFAULT_CLIENT, RemoteError } from './client.js';
import type { RemoteEndpoint } from './endpoint.js';
import { Limiter } from '../util/limiter.js';
import { readRecord, RECORD_FORMAT, signRecord, type Refusal, type RemoteRecord } from './record.js';

/** blobs this small travel inside their stage's record (a restore needs no request of its own for them) */
const INLINE_BYTES = 4 << 10;
const INLINE_PER_RECORD = 64 << 10;
/** blobs this small are downloaded into memory and written once; larger ones stream to disk */
const IN_MEMORY_BYTES = 256 << 10;

export interface TeamCacheOptions {
  readOnly: boolean;
  /** PIPE_REMOTE_CACHE_SECRET: sign what is written, refuse what is not signed with it */
  secret?: string;
  /** one line for the user (a fault, a refused record) */
  warn: (text: string) => void;
  /** bytes moved, for a progress display */
  progress?: (what: string, bytes: number, total: number, done: boolean) => void;
  client?: Partial<ClientOptions>;
  /** transfers at once */
  parallel?: number;
}

export interface TeamCacheStats {
  url: string;
  lookups: number;
  hits: number;
  refused: Record<Refusal, number>;
  downloadedBytes: number;
  uploaded: number;
  uploadedBytes: number;
  /** set when a fault made pipe stop using the team cache for this command */
  unavailable?: string;
}

export class TeamCache {
  readonly stats: TeamCacheStats;
  private readonly client: CacheClient;
  /** records looked up in this command, by key */
  private readonly found = new Map<string, RemoteRecord>();
  /** local digest -> SHA-256 and size, from the records found */
  private readonly blobs = new Map<string, { sha256: string; size: number }>();
  private readonly trees = new Map<string, TreeEntry[]>();
  /** SHA-256 -> base64 of the small blobs the records found carry */
  private readonly inline = new Map<string, string>();
  private readonly pending = new Set<Promise<void>>();
  /** blobs the server handed back wrong in this command: uploaded again (not trusted to be there) */
  private readonly altered = new Set<string>();
  private readonly limit: Limiter;
  private down: string | undefined;

  constructor(endpoint: RemoteEndpoint, private readonly local: LocalCaches, private readonly opts: TeamCacheOptions) {
    this.client = new CacheClient(endpoint, { ...DEFAULT_CLIENT, ...opts.client });
    this.limit = new Limiter(opts.parallel ?? 4);
    this.stats = { url: endpoint.shown, lookups: 0, hits: 0, refused: { unsigned: 0, 'bad-signature': 0, 'other-key': 0, malformed: 0 }, downloadedBytes: 0, uploaded: 0, uploadedBytes: 0 };
  }

  get readOnly(): boolean {
    return this.opts.readOnly;
  }

  /** The outputs the team cache holds for `key`, from a record that passed every check. */
  async lookup(key: string): Promise<RunCacheEntry | undefined> {
    const record = await this.recordFor(key);
    if (!record || record.snapshot) return undefined;
    return { key, outs: record.outs, outputHash: record.outputHash, from: 'remote' };
  }

  /** The model snapshot the team cache holds for a fetch stage's `key`. */
  async lookupSnapshot(key: string): Promise<SharedSnapshot | undefined> {
    return (await this.recordFor(key))?.snapshot;
  }

  /** Whether the server holds a record for `key` that this command would use (push skips those). */
  async holds(key: string): Promise<boolean> {
    const text = await this.client.getText(`ac/${key}`);
    return text !== undefined && 'record' in readRecord(text, key, this.opts.secret);
  }

  private async recordFor(key: string): Promise<RemoteRecord | undefined> {
    const known = this.found.get(key);
    if (known) return known;
    if (this.down || !/^[0-9a-zA-Z_-]{8,128}$/.test(key)) return undefined;
    this.stats.lookups++;
    let text: string | undefined;
    try {
      text = await this.client.getText(`ac/${key}`);
    } catch (err) {
      this.fault(err);
      return undefined;
    }
    if (text === undefined) return undefined;
    const read = readRecord(text, key, this.opts.secret);
    if ('refused' in read) {
      this.stats.refused[read.refused]++;
      return undefined;
    }
    const record = read.record;
    this.found.set(key, record);
    for (const [hash, blob] of Object.entries(record.blobs)) this.blobs.set(hash, blob);
    for (const [hash, entries] of Object.entries(record.trees)) this.trees.set(hash, entries);
    for (const [sha256, data] of Object.entries(record.inline ?? {})) this.inline.set(sha256, data);
    this.stats.hits++;
    return record;
  }

  /** Streams one file of a snapshot found by lookupSnapshot into `dest`, checked against its SHA-256. */
  async downloadSnapshotFile(key: string, file: SnapshotFile, dest: string, onBytes?: (n: number) => void): Promise<void> {
    const blob = this.found.get(key)?.blobs[file.etag];
    if (!blob || blob.size !== file.size) throw new BlobMismatch(`the record names no content for ${file.path}`);
    try {
      // a model file is checked by its SHA-256 alone (its hub etag): no local digest to compute
      await this.limit.run(() => this.client.download(blob.sha256, blob.size, dest, (n) => {
        this.stats.downloadedBytes += n;
        onBytes?.(n);
      }, [], false));
    } catch (err) {
      if (err instanceof BlobMismatch) this.altered.add(blob.sha256);
      else this.fault(err);
      throw err;
    }
  }

  /** Queues the upload of a fetched snapshot (every file's blob, then the record); never throws, never waits. */
  uploadSnapshot(key: string, snapshot: SharedSnapshot, blobOf: (f: SnapshotFile) => string): void {
    if (this.down || this.opts.readOnly || this.restorable(key)) return;
    this.background(this.uploadSnapshotNow(key, snapshot, blobOf));
  }

  async uploadSnapshotNow(key: string, snapshot: SharedSnapshot, blobOf: (f: SnapshotFile) => string): Promise<boolean> {
    if (this.down) return false;
    const blobs: RemoteRecord['blobs'] = {};
    await Promise.all(snapshot.files.map((f) => this.limit.run(async () => {
      const file = blobOf(f);
      // a SHA-256 etag was checked when the file was downloaded: it is the blob's address as it is
      const sha256 = /^[0-9a-f]{64}$/.test(f.etag) ? f.etag : await sha256Of(file);
      blobs[f.etag] = { sha256, size: f.size };
      if (!this.altered.has(sha256) && (await this.client.exists(`cas/${sha256}`))) return;
      await this.client.putFile(`cas/${sha256}`, file, (n) => (this.stats.uploadedBytes += n));
    })));
    const files = snapshot.files.map((f) => ({ path: f.path, etag: f.etag, size: f.size }));
    const record = signRecord({ format: RECORD_FORMAT, key, outputHash: '', outs: [], blobs, trees: {}, snapshot: { commit: snapshot.commit, files } }, this.opts.secret);
    await this.client.putText(`ac/${key}`, JSON.stringify(record)); // last: only a complete upload is ever a hit
    this.stats.uploaded++;
    return true;
  }

  /** A record found here names every blob of this output (so it can be downloaded). */
  knows(h: PathHash): boolean {
    if (h.kind === 'missing') return true;
    if (h.kind === 'file') return this.blobs.has(h.hash);
    const entries = this.trees.get(h.hash);
    return !!entries && entries.every((e) => this.blobs.has(e.hash));
  }

  /**
   * Downloads what the local store lacks of this output, in parallel. Throws on any fault or mismatch.
   * `copy` (a file output): a file to write the same bytes into as they stream in; true when it holds them.
   * `lend`: a large file goes into `copy` alone, not into the store (the caller lends it: objects.lend).
   */
  async fetch(h: PathHash, label: string, copy?: string, lend = false): Promise<boolean> {
    if (h.kind === 'missing') return false;
    let copied = false;
    const entries: { hash: string; size: number }[] = h.kind === 'file' ? [{ hash: h.hash, size: h.size }] : this.trees.get(h.hash) ?? [];
    if (h.kind === 'dir') {
      if (!this.trees.has(h.hash)) throw new BlobMismatch(`no folder listing for ${label}`);
      this.local.objects.adoptTree(h.hash, this.trees.get(h.hash)!);
    }
    const missing = entries.filter((e) => this.local.objects.problemNow({ kind: 'file', hash: e.hash, size: e.size }) !== undefined);
    const total = missing.reduce((n, e) => n + e.size, 0);
    let moved = 0;
    await Promise.all(missing.map((e) => this.limit.run(async () => {
      const blob = this.blobs.get(e.hash);
      if (!blob || blob.size !== e.size) throw new BlobMismatch(`the record names no content for part of ${label}`);
      const counted = (n: number) => {
        moved += n;
        this.stats.downloadedBytes += n;
        this.opts.progress?.(label, moved, total, false);
      };
      try {
        copied = await this.fetchBlob(e.hash, blob, counted, h.kind === 'file' ? copy : undefined, lend);
      } catch (err) {
        if (err instanceof BlobMismatch || err instanceof ObjectUnavailable) this.altered.add(blob.sha256);
        throw err;
      }
    })));
    this.opts.progress?.(label, total, total, true);
    return copied;
  }

  /** One blob into the local store (and into `copy` when it streams: true then; `lend`: into `copy` alone). */
  private async fetchBlob(hash: string, blob: { sha256: string; size: number }, counted: (n: number) => void, copy?: string, lend = false): Promise<boolean> {
    const carried = this.inlined(blob);
    if (!carried && this.down) throw new RemoteError(`not tried: the team cache is not usable (${this.down})`); // no more waiting on it
    if (blob.size <= IN_MEMORY_BYTES) {
      const data = carried ?? (await this.client.getBlob(blob.sha256, blob.size));
      this.local.objects.adoptBytes(data, hash);
      counted(data.length);
      return false;
    }
    // a signed record names the local digest of the bytes its SHA-256 names: once those check out, it is known
    const known = !!this.opts.secret; // as readRecord: with a secret, every record used here was signed with it
    if (lend && copy) {
      const got = await this.client.download(blob.sha256, blob.size, copy, counted, [], !known);
      if ((got.digest ?? hash) !== hash) throw new ObjectUnavailable('does not match its hash after download', true);
      return true;
    }
    const tmp = this.local.objects.blobTemp(hash);
    try {
      const got = await this.client.download(blob.sha256, blob.size, tmp, counted, copy ? [copy] : [], !known);
      await this.local.objects.adoptBlob(tmp, hash, got.digest ?? hash);
      return copy !== undefined;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** A small blob the record carried, checked against its SHA-256; undefined when it carried none (or a wrong one). */
  private inlined(blob: { sha256: string; size: number }): Buffer | undefined {
    const text = this.inline.get(blob.sha256);
    if (text === undefined) return undefined;
    const data = Buffer.from(text, 'base64');
    if (data.length === blob.size && createHash('sha256').update(data).digest('hex') === blob.sha256) return data;
    throw new BlobMismatch(`the content the record carries for ${blob.sha256} does not match its SHA-256 (altered on the server?)`);
  }

  /** Queues the upload of a stage's outputs and record; never throws, never waits. */
  upload(entry: RunCacheEntry): void {
    if (this.down || this.opts.readOnly || this.restorable(entry.key)) return;
    this.background(this.uploadNow(entry));
  }

  private background(work: Promise<unknown>): void {
    const job: Promise<void> = work.then(() => undefined, (err) => this.fault(err)).finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** The record found for this key restored (no blob of it came back altered): nothing to upload. */
  private restorable(key: string): boolean {
    const record = this.found.get(key);
    return !!record && Object.values(record.blobs).every((b) => !this.altered.has(b.sha256));
  }

  /** Uploads now (push): true when the record was written. */
  async uploadNow(entry: RunCacheEntry): Promise<boolean> {
    if (this.down) return false;
    const blobs: RemoteRecord['blobs'] = {};
    const trees: RemoteRecord['trees'] = {};
    const files: { hash: string; size: number }[] = [];
    for (const out of entry.outs) {
      if (out.kind === 'file') files.push({ hash: out.hash, size: out.size });
      if (out.kind !== 'dir') continue;
      const listed = this.local.objects.treeEntries(out.hash);
      if (!listed) return false; // not in the local store: nothing to share
      trees[out.hash] = listed;
      for (const e of listed) files.push({ hash: e.hash, size: e.size });
    }
    const unique = [...new Map(files.map((f) => [f.hash, f])).values()];
    const inline: Record<string, string> = {};
    let inlined = 0;
    await Promise.all(unique.map((f) => this.limit.run(async () => {
      if (this.local.objects.problemNow({ kind: 'file', hash: f.hash, size: f.size })) throw new BlobMismatch(`blob ${f.hash} is not intact in the local cache`);
      const file = await this.local.objects.blobFile(f.hash);
      if (f.size <= INLINE_BYTES && inlined + f.size <= INLINE_PER_RECORD) {
        inlined += f.size;
        const data = await readFile(file);
        const sha256 = createHash('sha256').update(data).digest('hex');
        blobs[f.hash] = { sha256, size: data.length };
        inline[sha256] = data.toString('base64');
        this.stats.uploadedBytes += data.length;
        return;
      }
      const sha256 = await sha256Of(file);
      blobs[f.hash] = { sha256, size: f.size };
      if (!this.altered.has(sha256) && (await this.client.exists(`cas/${sha256}`))) return;
      await this.client.putFile(`cas/${sha256}`, file, (n) => (this.stats.uploadedBytes += n));
    })));
    const record = signRecord({
      format: RECORD_FORMAT, key: entry.key, outputHash: entry.outputHash, outs: entry.outs.map(plainOut), blobs, trees,
      ...(Object.keys(inline).length ? { inline } : {}),
    }, this.opts.secret);
    await this.client.putText(`ac/${entry.key}`, JSON.stringify(record)); // last: only a complete upload is ever a hit
    this.stats.uploaded++;
    return true;
  }

  /** Waits for the background uploads (the command ends after them). */
  async finish(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** A download that failed for one output: said once per output; a fault of the server stops the team cache. */
  failed(err: unknown, label: string): string {
    if (err instanceof BlobMismatch) return `${err.message}`;
    this.fault(err);
    return `the team cache could not be reached for ${label}`;
  }

  private fault(err: unknown): void {
    if (this.down) return;
    const text = err instanceof Error ? err.message : String(err);
    if (err instanceof BlobMismatch) {
      this.opts.warn(`team cache: ${text}`);
      return;
    }
    this.down = text;
    this.stats.unavailable = text;
    this.opts.warn(`team cache ${this.stats.url} is not usable (${text}); carrying on with the local cache`);
  }
}

function plainOut(o: OutputRecord): OutputRecord {
  return { path: o.path, kind: o.kind, hash: o.hash, size: o.size, ...(o.exec ? { exec: true } : {}) };
}

async function sha256Of(file: string): Promise<string> {
  const hasher = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
  return hasher.digest('hex');
}

export { RemoteError };
