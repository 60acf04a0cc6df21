import { randomBytes } from 'node:crypto';
import { constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestBytes, digestFile } from '../hash/digest.js';
import type { PathHash, TreeEntry } from '../hash/types.js';

/** Temp files older than this are leftovers of a crashed put; younger ones may belong to a running put. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_MARK = '.tmp-';
const SMALL_BLOB_BYTES = 1 << 20;

/**
 * Content-addressed store of stage outputs:
 *   objects/ab/cdef…     file contents, read-only (0444), named by their digest
 *   trees/<hash>.json    a folder's sorted entries, so a folder can be restored from its hash alone
 * Every object is written under a temp name in its own folder and renamed into place, so an
 * object that exists under its final name is always complete.
 */
export class ObjectStore {
  private readonly knownDirs = new Set<string>();

  constructor(private readonly dir: string) {}

  /** Store the file or folder at absPath whose PathHash is known; no-op if already stored. */
  async put(absPath: string, h: PathHash): Promise<void> {
    if (h.kind === 'file') return this.putBlob(absPath, h.hash);
    if (h.kind !== 'dir') return;
    for (const e of requireEntries(h)) await this.putBlob(path.join(absPath, e.path), e.hash);
    const treeFile = this.treePath(h.hash);
    if (!existsSync(treeFile)) await this.writeAtomic(treeFile, JSON.stringify(requireEntries(h)));
  }

  /** True when every blob (and, for a folder, its tree) is present. */
  has(h: PathHash): boolean {
    if (h.kind === 'missing') return true;
    if (h.kind === 'file') return existsSync(this.blobPath(h.hash));
    const entries = h.entries ?? this.readTree(h.hash);
    return existsSync(this.treePath(h.hash)) && !!entries && entries.every((e) => existsSync(this.blobPath(e.hash)));
  }

  /**
   * Recreate the output at absPath from the store, replacing what is there. Files are
   * independent copies (a reflink where the filesystem can, else a real copy), so editing a
   * restored file in place never alters the store.
   */
  async restore(h: PathHash, absPath: string): Promise<void> {
    if (h.kind === 'missing') {
      await rm(absPath, { recursive: true, force: true });
      return;
    }
    await mkdir(path.dirname(absPath), { recursive: true });
    if (h.kind === 'file') {
      if (isDirectory(absPath)) await rm(absPath, { recursive: true, force: true });
      await this.restoreFile(h.hash, !!h.exec, absPath);
      return;
    }
    const entries = h.entries ?? this.readTree(h.hash);
    if (!entries) throw new Error(`folder ${h.hash} is not in the cache`);
    await this.restoreDir(entries, absPath);
  }

  /** Delete every object not reachable from `live` (and stale temp files). */
  gc(live: Iterable<PathHash>): { removedFiles: number; removedBytes: number } {
    const liveBlobs = new Set<string>();
    const liveTrees = new Set<string>();
    for (const h of live) {
      if (h.kind === 'file') liveBlobs.add(h.hash);
      if (h.kind !== 'dir') continue;
      liveTrees.add(h.hash);
      for (const e of h.entries ?? this.readTree(h.hash) ?? []) liveBlobs.add(e.hash);
    }
    const removed = { removedFiles: 0, removedBytes: 0 };
    const objects = path.join(this.dir, 'objects');
    for (const fanout of listDir(objects)) {
      const sub = path.join(objects, fanout);
      for (const name of listDir(sub)) {
        if (!liveBlobs.has(fanout + name)) removeCounted(path.join(sub, name), removed);
      }
    }
    const trees = path.join(this.dir, 'trees');
    for (const name of listDir(trees)) {
      if (!liveTrees.has(name.replace(/\.json$/, ''))) removeCounted(path.join(trees, name), removed);
    }
    return removed;
  }

  private blobPath(hash: string): string {
    return path.join(this.dir, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  private treePath(hash: string): string {
    return path.join(this.dir, 'trees', `${hash}.json`);
  }

  private readTree(hash: string): TreeEntry[] | undefined {
    try {
      return JSON.parse(readFileSync(this.treePath(hash), 'utf8')) as TreeEntry[];
    } catch {
      return undefined;
    }
  }

  /** Copy (never hardlink: a rerun that truncates its output in place would corrupt the object). */
  private async putBlob(src: string, hash: string): Promise<void> {
    const dest = this.blobPath(hash);
    if (existsSync(dest)) return;
    this.ensureDir(path.dirname(dest));
    const tmp = tempName(dest);
    if (statSync(src).size <= SMALL_BLOB_BYTES) return this.putSmallBlob(src, hash, tmp, dest);
    try {
      await copyFile(src, tmp, constants.COPYFILE_FICLONE);
      // The output may have changed since it was hashed; an object must hold exactly its digest.
      if ((await digestFile(tmp)).hash !== hash) throw new Error(`${src} changed while it was being stored in the cache`);
      await chmod(tmp, 0o444);
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async restoreFile(hash: string, exec: boolean, dest: string): Promise<void> {
    const blob = this.blobPath(hash);
    if (!existsSync(blob)) throw new Error(`${hash} is not in the cache (needed for ${dest})`);
    const tmp = tempName(dest);
    try {
      await copyFile(blob, tmp, constants.COPYFILE_FICLONE);
      await chmod(tmp, exec ? 0o755 : 0o644);
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Build the folder next to its destination, then swap it in, so readers never see half of it. */
  private async restoreDir(entries: TreeEntry[], dest: string): Promise<void> {
    const staging = tempName(dest);
    const old = tempName(dest);
    try {
      await mkdir(staging, { recursive: true });
      for (const e of entries) {
        const file = path.join(staging, ...e.path.split('/'));
        await mkdir(path.dirname(file), { recursive: true });
        await this.restoreFile(e.hash, e.exec, file);
      }
      if (existsSync(dest)) await rename(dest, old);
      await rename(staging, dest);
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(old, { recursive: true, force: true });
    }
  }

  /** Small outputs (most of them) in three blocking calls: cheaper than six thread-pool round trips. */
  private putSmallBlob(src: string, hash: string, tmp: string, dest: string): void {
    const data = readFileSync(src);
    if (digestBytes(data) !== hash) throw new Error(`${src} changed while it was being stored in the cache`);
    try {
      writeFileSync(tmp, data, { mode: 0o444 });
      renameSync(tmp, dest);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  private async writeAtomic(file: string, data: string): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = tempName(file);
    try {
      await writeFile(tmp, data);
      await rename(tmp, file);
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

function requireEntries(h: PathHash): TreeEntry[] {
  if (!h.entries) throw new Error(`folder hash ${h.hash} has no entries`);
  return h.entries;
}

function tempName(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

function isDirectory(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function removeCounted(file: string, removed: { removedFiles: number; removedBytes: number }): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return;
  if (path.basename(file).includes(TEMP_MARK) && Date.now() - st.mtimeMs < STALE_TEMP_MS) return;
  rmSync(file, { force: true });
  removed.removedFiles++;
  removed.removedBytes += st.size;
}
