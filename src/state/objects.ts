import { randomBytes } from 'node:crypto';
import { constants, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { digestBytes, digestFile } from '../hash/digest.js';
import { StatCache } from '../hash/stat-cache.js';
import type { PathHash, TreeEntry } from '../hash/types.js';
import { StorageError, isStorageFailure } from '../util/errors.js';
import { FilePlacer, READ_ONLY, type LinkMode } from './link-mode.js';
import { Loans } from './loans.js';
import { parseTree } from './tree-check.js';
import type { OutputStore } from './stores.js';

/** Temp files older than this are leftovers of a crashed put; younger ones may belong to a running put. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_MARK = '.tmp-';
const SMALL_BLOB_BYTES = 1 << 20;
const OBJECT_NAME = /^[0-9a-f]{8,128}$/;
/** file outputs from this size restored from the team cache are lent to the store rather than written twice */
const LEND_FROM_BYTES = 16 << 20;

/** An object the store cannot give back: absent, or damaged (then it has been dropped). */
export class ObjectUnavailable extends Error {
  constructor(readonly detail: string, readonly damaged: boolean) {
    super(detail);
    this.name = 'ObjectUnavailable';
  }
}

/** What a cheap look (no content read) finds wrong with a stored output, if anything. */
export type ObjectProblem = { missing: true; detail: string } | { missing: false; detail: string };

export interface ObjectStoreOptions {
  /** `cache.link` (absent: a reflink where the filesystem can, else a copy) */
  link?: LinkMode;
  /** where a one-time note goes (a fallback of the link mode); default stderr */
  notice?: (text: string) => void;
  /** the project: given, outputs may hold objects on loan (loans.ts) */
  root?: string;
}

export interface GcResult {
  removedFiles: number;
  /** bytes freed on disk */
  removedBytes: number;
  /** bytes of removed objects that stay on disk while a workspace file is a hardlink to them */
  stillLinkedBytes: number;
}

/**
 * Content-addressed store of stage outputs:
 *   objects/ab/cdef…     file contents, read-only (0444), named by their digest
 *   trees/<hash>.json    a folder's sorted entries, so a folder can be restored from its hash alone
 *   verified             stat cache of the objects whose content was checked against their name
 * Every object is written under a temp name in its own folder and renamed into place, so an
 * object that exists under its final name is complete; an object altered afterwards (disk
 * error, a user's edit) is caught on restore by its digest and dropped.
 *
 * The store never follows a symlink inside its folder: a link where a folder or an object should
 * be is something pipe did not write. Reads treat it as absent; writes and gc remove the link
 * itself (never its target).
 *
 * With `cache.link: hardlink` an object and the output it came from (or was restored to) are one
 * read-only inode. What keeps such an object intact: a stage never writes over its previous output
 * (the engine moves it aside first, and gives a `persist` stage's output a copy of its own: detach);
 * a non-root writer gets EACCES; and a root edit in place changes the inode's ctime, so the next
 * restore reads the object again (the `verified` memo is keyed by it), finds it damaged and drops it.
 */
export class ObjectStore implements OutputStore {
  /** folders of the store checked to be real folders (not links) in this process */
  private readonly realDirs = new Set<string>();
  private verified: StatCache | undefined;
  private readonly placer: FilePlacer;
  private notice: (text: string) => void;
  /** blobs this process wrote after checking their digest as they streamed in: name -> the stat they were left with */
  private readonly adopted = new Map<string, string>();
  private readonly loans: Loans | undefined;

  constructor(private readonly dir: string, options: ObjectStoreOptions = {}) {
    this.notice = options.notice ?? ((text) => process.stderr.write(text + '\n'));
    this.placer = new FilePlacer(options.link, (text) => this.notice(text));
    this.loans = options.root ? new Loans(path.join(dir, 'lent'), options.root) : undefined;
  }

  /** Sends the store's one-time notes (link-mode fallbacks) to the run's reporter. */
  onNotice(notice: (text: string) => void): void {
    this.notice = notice;
  }

  /**
   * Store the file or folder at absPath whose PathHash is known. An object already stored under
   * the same name is kept only if its content is intact; a damaged one is replaced.
   * `label` names the output in errors.
   */
  async put(absPath: string, h: PathHash, label = absPath): Promise<void> {
    try {
      if (h.kind === 'file') return await this.putBlob(absPath, h.hash, h.size, !!h.exec);
      if (h.kind !== 'dir') return;
      const entries = requireEntries(h);
      for (const e of entries) await this.putBlob(path.join(absPath, e.path), e.hash, e.size, e.exec);
      if (!this.treeIntact(h.hash)) this.writeTree(h.hash, JSON.stringify(entries));
    } catch (err) {
      if (isStorageFailure(err)) throw new StorageError(`could not store output ${label} in ${this.shown()}`, err);
      throw err;
    }
  }

  /** True when every blob (and, for a folder, its tree) is present and looks intact without reading it. */
  async has(h: PathHash): Promise<boolean> {
    return this.problemNow(h) === undefined;
  }

  async problem(h: PathHash): Promise<ObjectProblem | undefined> {
    return this.problemNow(h);
  }

  /** Why the output cannot be restored, judged without reading any content (sizes, links, the tree). */
  problemNow(h: PathHash): ObjectProblem | undefined {
    if (h.kind === 'missing') return undefined;
    if (h.kind === 'file') return this.blobProblem(h.hash, h.size);
    const tree = this.readTree(h.hash);
    if ('missing' in tree) return tree.missing ? { missing: true, detail: 'is not in the cache' } : { missing: false, detail: tree.detail };
    for (const e of tree.entries) {
      const p = this.blobProblem(e.hash, e.size);
      if (p) return { missing: p.missing, detail: `${p.detail} (file ${e.path})` };
    }
    return undefined;
  }

  /** Removes what `problem` finds damaged in this output's objects (the blob or the tree; never a missing one). */
  async dropDamaged(h: PathHash): Promise<void> {
    if (h.kind === 'file' && this.problemNow(h)?.missing === false) this.drop(this.blobPath(h.hash));
    if (h.kind !== 'dir') return;
    const tree = this.readTree(h.hash);
    if (!('entries' in tree)) {
      if (!tree.missing) this.drop(this.treePath(h.hash));
      return;
    }
    for (const e of tree.entries) if (this.blobProblem(e.hash, e.size)?.missing === false) this.drop(this.blobPath(e.hash));
  }

  /**
   * Recreate the output at absPath from the store, replacing what is there. Every object is checked
   * against its digest first (once per object: the result is remembered by its stat); a damaged one
   * is dropped and ObjectUnavailable is thrown, and nothing is written. Files are placed by `cache.link`:
   * independent copies or clones (editing one never alters the store), or read-only hardlinks.
   */
  async restore(h: PathHash, absPath: string, label = absPath, prepared?: string): Promise<void> {
    try {
      if (h.kind === 'missing') {
        await rm(absPath, { recursive: true, force: true });
        return;
      }
      if (h.kind === 'file') {
        if (this.lentInPlace(h, absPath)) return;
        // these very bytes there, on loan, with another exec bit: into the store (a rename), then restored as asked
        if (this.loans?.at(absPath) === h.hash) await this.takeLent(absPath);
        await this.verifyBlob(h.hash, h.size);
        await this.takeLent(absPath); // another object on loan there: kept before it is replaced
        await mkdir(path.dirname(absPath), { recursive: true });
        if (lstatOf(absPath)?.isDirectory()) await rm(absPath, { recursive: true, force: true });
        if (prepared !== undefined && this.adopted.has(h.hash)) await this.placePrepared(prepared, !!h.exec, absPath);
        else await this.restoreFile(h.hash, !!h.exec, absPath);
        return;
      }
      const entries = await this.verifiedTree(h);
      await mkdir(path.dirname(absPath), { recursive: true });
      await this.takeLent(absPath);
      await this.restoreDir(entries, absPath);
    } catch (err) {
      if (isStorageFailure(err)) throw new StorageError(`could not restore output ${label} from ${this.shown()}`, err);
      throw err;
    }
  }

  /**
   * Where a download may write a copy of a file output while the same bytes stream into the store (one pass
   * instead of a copy afterwards), then handed to `restore` as `prepared`: a temp name beside the output;
   * undefined when `cache.link` would not copy it (a hardlink, or a clone: cheaper than writing it).
   */
  async copyTemp(h: PathHash, absPath: string): Promise<string | undefined> {
    if (h.kind !== 'file') return undefined;
    const copies = this.placer.mode === 'copy' || this.placer.mode === undefined || (this.placer.mode === 'hardlink' && !!h.exec);
    if (!copies) return undefined;
    await mkdir(path.dirname(absPath), { recursive: true });
    return tempName(absPath);
  }

  /** The stored file of a blob, to read it (upload): only once `problemNow` found it intact. */
  async blobFile(hash: string): Promise<string> {
    await this.stored(hash);
    return this.blobPath(hash);
  }

  /** Whether a restore of this output from elsewhere writes it once and lends it (`lend`) instead of storing a copy. */
  lends(h: PathHash): boolean {
    return !!this.loans && this.placer.mode === undefined && h.kind === 'file' && h.size >= LEND_FROM_BYTES;
  }

  /**
   * A file output downloaded into `tmp` (beside absPath) and checked against its name is put in place as the
   * output and lent to the store instead of copied into it (loans.ts); where it cannot be lent, it is copied.
   */
  async lend(h: PathHash, tmp: string, absPath: string, label = absPath): Promise<void> {
    try {
      await chmod(tmp, h.exec ? 0o755 : 0o644);
      if (lstatOf(absPath)?.isDirectory()) await rm(absPath, { recursive: true, force: true });
      else await this.takeLent(absPath);
      await rename(tmp, absPath);
      if (!this.loans?.lend(h.hash, absPath)) await this.putBlob(absPath, h.hash, h.size, !!h.exec);
    } catch (err) {
      if (isStorageFailure(err)) throw new StorageError(`could not restore output ${label}`, err);
      throw err;
    }
  }

  /**
   * Before pipe moves, replaces or removes the output at `abs`: when it holds an object on loan (untouched
   * since), the store takes the file itself (a rename), so the object stays without being copied. True when
   * the file was taken (it is no longer at `abs`).
   */
  async takeLent(abs: string): Promise<boolean> {
    const hash = this.loans?.at(abs);
    if (hash === undefined) return false;
    if ('st' in this.blobStat(hash)) {
      this.loans!.end(hash);
      return false;
    }
    const dest = this.blobPath(hash);
    this.ensureDirs(path.dirname(dest));
    try {
      await rename(abs, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await this.materialize(hash); // an output on another filesystem: the store keeps a copy instead
      return false;
    }
    this.loans!.end(hash);
    await chmod(dest, READ_ONLY);
    this.rememberAdopted(hash);
    return true;
  }

  /** The output at absPath is this very object, on loan and untouched (with the exec bit asked for). */
  private lentInPlace(h: PathHash, absPath: string): boolean {
    if (this.loans?.at(absPath) !== h.hash) return false;
    return ((lstatOf(absPath)!.mode & 0o100) !== 0) === !!h.exec;
  }

  /** The blob as a file of the store's own: an object on loan gets its bytes copied in (they are needed elsewhere). */
  private async stored(hash: string): Promise<void> {
    if (!('st' in this.blobStat(hash))) await this.materialize(hash);
  }

  /** The lent file's bytes copied into the store, when it is on loan and untouched (they are needed elsewhere). */
  private async materialize(hash: string): Promise<void> {
    const file = this.loans?.find(hash);
    if (file === undefined) return;
    const dest = this.blobPath(hash);
    this.ensureDirs(path.dirname(dest));
    const tmp = tempName(dest);
    try {
      await copyFile(file, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      if (this.loans!.find(hash) !== file) return; // written to while it was copied: not the object any more
      await chmod(tmp, READ_ONLY);
      await rename(tmp, dest);
      this.rememberAdopted(hash);
    } finally {
      await rm(tmp, { force: true });
    }
    this.loans!.end(hash);
  }

  /** A temp name beside where the blob goes, for a download to write into (then `adoptBlob`). */
  blobTemp(hash: string): string {
    const dest = this.blobPath(hash);
    this.ensureDirs(path.dirname(dest));
    return tempName(dest);
  }

  /**
   * Moves a downloaded file into the store under its name once its content is checked against it
   * (`digested`: its digest, computed while it streamed in; else the file is read again).
   */
  async adoptBlob(tmp: string, hash: string, digested?: string): Promise<void> {
    try {
      if ((digested ?? (await digestFile(tmp)).hash) !== hash) throw new ObjectUnavailable('does not match its hash after download', true);
      await chmod(tmp, READ_ONLY);
      await rename(tmp, this.blobPath(hash));
      this.rememberAdopted(hash);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Stores a small downloaded blob held in memory, once it digests to its name. */
  adoptBytes(data: Uint8Array, hash: string): void {
    if (digestBytes(data) !== hash) throw new ObjectUnavailable('does not match its hash after download', true);
    const dest = this.blobPath(hash);
    this.ensureDirs(path.dirname(dest));
    const tmp = tempName(dest);
    try {
      writeFileSync(tmp, data, { mode: 0o444, flag: 'wx' });
      renameSync(tmp, dest);
      this.rememberAdopted(hash);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Its content was checked as it was written: restoring it in this process need not read it again. */
  private rememberAdopted(hash: string): void {
    const found = this.blobStat(hash);
    if ('st' in found) this.adopted.set(hash, adoptedKey(found.st));
  }

  /** Stores a folder's listing (from the team cache); refused unless it digests to its name. */
  adoptTree(hash: string, entries: TreeEntry[]): void {
    const text = JSON.stringify(entries);
    if (typeof parseTree(text, hash) === 'string') throw new ObjectUnavailable(`folder listing ${hash} does not match its hash`, true);
    if (!this.treeIntact(hash)) this.writeTree(hash, text);
  }

  /** The entries of a stored folder (validated), or undefined when it is not here intact. */
  treeEntries(hash: string): TreeEntry[] | undefined {
    const tree = this.readTree(hash);
    return 'entries' in tree ? tree.entries : undefined;
  }

  /** Persist what was verified (best effort: it only saves re-reading objects). */
  save(): void {
    try {
      this.verified?.save();
    } catch {
      /* only an optimisation */
    }
  }

  /**
   * A `persist` stage writes into its previous outputs: each file of the output at absPath that is a hardlink
   * to its object gets a writable copy of its own first, so the stage cannot write into the store.
   */
  async detach(h: PathHash, absPath: string): Promise<void> {
    const files = h.kind === 'file' ? [{ file: absPath, hash: h.hash, exec: !!h.exec }]
      : h.kind === 'dir' ? (this.treeEntries(h.hash) ?? []).map((e) => ({ file: path.join(absPath, ...e.path.split('/')), hash: e.hash, exec: e.exec })) : [];
    for (const { file, hash, exec } of files) {
      if (this.loans?.at(file) === hash) await this.materialize(hash); // the stage may append: the object gets its own bytes
      const st = lstatOf(file);
      const blob = OBJECT_NAME.test(hash) ? lstatOf(this.blobPath(hash)) : undefined;
      if (!st?.isFile() || !blob?.isFile() || st.ino !== blob.ino || st.dev !== blob.dev) continue;
      const tmp = tempName(file);
      try {
        await copyFile(file, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        await chmod(tmp, exec ? 0o755 : 0o644);
        await rename(tmp, file);
      } finally {
        await rm(tmp, { force: true });
      }
    }
  }

  /** Delete every object not reachable from `live` (and stale temp files, and links planted in the store). */
  gc(live: Iterable<PathHash>): GcResult {
    const liveBlobs = new Set<string>();
    const liveTrees = new Set<string>();
    for (const h of live) {
      if (h.kind === 'file') liveBlobs.add(h.hash);
      if (h.kind !== 'dir') continue;
      liveTrees.add(h.hash);
      const tree = h.entries ? { entries: h.entries } : this.readTree(h.hash);
      if ('entries' in tree) for (const e of tree.entries) liveBlobs.add(e.hash);
    }
    const removed: GcResult = { removedFiles: 0, removedBytes: 0, stillLinkedBytes: 0 };
    if (!this.isRealDir(this.dir, removed)) return removed;
    const objects = path.join(this.dir, 'objects');
    if (this.isRealDir(objects, removed)) {
      for (const fanout of listDir(objects)) {
        const sub = path.join(objects, fanout);
        if (!this.isRealDir(sub, removed)) continue;
        for (const name of listDir(sub)) {
          if (!liveBlobs.has(fanout + name) || !lstatOf(path.join(sub, name))?.isFile()) removeCounted(path.join(sub, name), removed);
        }
      }
    }
    const trees = path.join(this.dir, 'trees');
    if (this.isRealDir(trees, removed)) {
      for (const name of listDir(trees)) {
        const file = path.join(trees, name);
        if (!liveTrees.has(name.replace(/\.json$/, '')) || !lstatOf(file)?.isFile()) removeCounted(file, removed);
      }
    }
    // a note is dropped, never its file (an output): when nothing refers to the object, it was edited, or a copy is stored
    for (const hash of this.loans?.hashes() ?? []) {
      if (!liveBlobs.has(hash) || 'st' in this.blobStat(hash) || this.loans!.find(hash) === undefined) this.loans!.end(hash);
    }
    return removed;
  }

  private shown(): string {
    return path.relative(process.cwd(), this.dir) || this.dir;
  }

  private blobPath(hash: string): string {
    return path.join(this.dir, 'objects', hash.slice(0, 2), hash.slice(2));
  }

  private treePath(hash: string): string {
    return path.join(this.dir, 'trees', `${hash}.json`);
  }

  /** The stat of the blob if it is a regular file reached without a link, else why not. */
  private blobStat(hash: string): { st: Stats } | ObjectProblem {
    if (!OBJECT_NAME.test(hash)) return { missing: false, detail: `has an invalid object name '${hash}'` };
    const blob = this.blobPath(hash);
    const st = this.readableDirs(path.dirname(blob)) ? lstatOf(blob) : undefined;
    if (!st) return { missing: true, detail: 'is not in the cache' };
    if (st.isSymbolicLink()) return { missing: false, detail: 'is a symlink in the cache (pipe never reads through one)' };
    if (!st.isFile()) return { missing: false, detail: 'is not a regular file in the cache' };
    return { st };
  }

  private blobProblem(hash: string, size: number): ObjectProblem | undefined {
    const found = this.blobStat(hash);
    if (!('st' in found)) return found.missing && this.loans?.find(hash, size) !== undefined ? undefined : found;
    if (found.st.size !== size) return { missing: false, detail: `is damaged in the cache (${found.st.size} bytes, expected ${size})` };
    return undefined;
  }

  /** Throws ObjectUnavailable (dropping the blob when it is damaged) unless its content matches its name. */
  private async verifyBlob(hash: string, size: number): Promise<void> {
    await this.stored(hash);
    const problem = this.blobProblem(hash, size);
    if (problem) {
      if (!problem.missing) this.drop(this.blobPath(hash));
      throw new ObjectUnavailable(problem.detail, !problem.missing);
    }
    const blob = this.blobPath(hash);
    const adopted = this.adopted.get(hash);
    if (adopted !== undefined) {
      const found = this.blobStat(hash);
      if ('st' in found && adoptedKey(found.st) === adopted) return;
    }
    if ((await this.verifier().hash(blob)).hash === hash) return;
    this.drop(blob);
    throw new ObjectUnavailable('is damaged in the cache (its content does not match its hash)', true);
  }

  /** The entries of a stored folder, every blob verified; a damaged tree or blob is dropped (ObjectUnavailable). */
  private async verifiedTree(h: PathHash): Promise<TreeEntry[]> {
    const tree = this.readTree(h.hash, h.entries);
    if ('missing' in tree) {
      if (!tree.missing) this.drop(this.treePath(h.hash));
      throw new ObjectUnavailable(tree.missing ? `folder ${h.hash} is not in the cache` : tree.detail, !tree.missing);
    }
    for (const e of tree.entries) {
      try {
        await this.verifyBlob(e.hash, e.size);
      } catch (err) {
        if (err instanceof ObjectUnavailable) throw new ObjectUnavailable(`${err.detail} (file ${e.path})`, err.damaged);
        throw err;
      }
    }
    return tree.entries;
  }

  /** A folder's entries, validated: its JSON, safe relative paths, and the digest over them equal to its name. */
  private readTree(hash: string, given?: TreeEntry[]): { entries: TreeEntry[] } | { missing: boolean; detail: string } {
    if (!OBJECT_NAME.test(hash)) return { missing: false, detail: `has an invalid object name '${hash}'` };
    let text: string | undefined;
    if (!given) {
      const file = this.treePath(hash);
      const st = this.readableDirs(path.dirname(file)) ? lstatOf(file) : undefined;
      if (!st) return { missing: true, detail: 'is not in the cache' };
      if (!st.isFile()) return { missing: false, detail: 'has a folder listing in the cache that is not a regular file (a symlink?)' };
      text = readFileSync(file, 'utf8');
    }
    const result = parseTree(text ?? given!, hash);
    return typeof result === 'string' ? { missing: false, detail: `is damaged in the cache: its folder listing ${result}` } : { entries: result };
  }

  private treeIntact(hash: string): boolean {
    return 'entries' in this.readTree(hash);
  }

  /**
   * Stores one file as `cache.link` says. Hardlink mode links the output itself (read-only from then on), or,
   * when the object is already there, makes the output a link to it; an executable or a file with other names
   * (pipe would make them read-only too) is copied.
   */
  private async putBlob(src: string, hash: string, size: number, exec: boolean): Promise<void> {
    const dest = this.blobPath(hash);
    const linkable = this.placer.hardlinks && !exec && soleName(src);
    if (await this.storedIntact(hash, size)) {
      if (linkable) await this.shareStored(src, dest);
      return;
    }
    this.ensureDirs(path.dirname(dest));
    const tmp = tempName(dest);
    if (linkable && (await this.putLinked(src, hash, size, tmp, dest))) return;
    if (size <= SMALL_BLOB_BYTES && this.placer.mode !== 'reflink') return this.putSmallBlob(src, hash, tmp, dest);
    try {
      await this.placer.place(src, tmp, false);
      // The output may have changed since it was hashed; an object must hold exactly its digest.
      if ((await digestFile(tmp)).hash !== hash) throw new Error(`${src} changed while it was being stored in the cache`);
      await chmod(tmp, READ_ONLY);
      await rename(tmp, dest); // replaces a damaged object or a planted link, never writes through it
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** The output itself becomes the object (one read-only inode); false when the filesystem cannot link it there. */
  private async putLinked(src: string, hash: string, size: number, tmp: string, dest: string): Promise<boolean> {
    const mode = (await lstat(src)).mode & 0o7777;
    try {
      if (!(await this.placer.tryLink(src, tmp))) return false;
      // read-only now: the content hashed must be the content stored
      if ((await digestOf(tmp, size)) !== hash) {
        await chmod(src, mode);
        throw new Error(`${src} changed while it was being stored in the cache`);
      }
      await rename(tmp, dest);
      return true;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** The object is stored already: the output becomes a link to it, so the two take the space of one. */
  private async shareStored(src: string, blob: string): Promise<void> {
    const st = lstatOf(src);
    const stored = lstatOf(blob);
    if (!st || !stored || (st.ino === stored.ino && st.dev === stored.dev)) return;
    const tmp = tempName(src);
    try {
      if (await this.placer.tryLink(blob, tmp)) await rename(tmp, src);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** An object of this name is there and its content checks out (what is there otherwise is dropped). */
  private async storedIntact(hash: string, size: number): Promise<boolean> {
    const found = this.blobStat(hash);
    if (!('st' in found) && found.missing) return false;
    try {
      await this.verifyBlob(hash, size);
      return true;
    } catch (err) {
      if (err instanceof ObjectUnavailable) return false;
      throw err;
    }
  }

  /** An executable is always a copy: its mode would be the object's, and that of every output linked to it. */
  private async restoreFile(hash: string, exec: boolean, dest: string): Promise<void> {
    const tmp = tempName(dest);
    try {
      if ((await this.placer.place(this.blobPath(hash), tmp, !exec)) === 'copied') await chmod(tmp, exec ? 0o755 : 0o644);
      await rename(tmp, dest); // onto a link to the same object this does nothing, and the temp name goes below
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** A copy written from the bytes that were checked as they streamed into the store: put in place as the output. */
  private async placePrepared(prepared: string, exec: boolean, dest: string): Promise<void> {
    await chmod(prepared, exec ? 0o755 : 0o644);
    await rename(prepared, dest);
  }

  /** Build the folder next to its destination, then swap it in, so readers never see half of it. */
  private async restoreDir(entries: TreeEntry[], dest: string): Promise<void> {
    const staging = tempName(dest);
    const old = tempName(dest);
    try {
      await mkdir(staging);
      for (const e of entries) {
        const file = path.join(staging, ...e.path.split('/')); // paths checked by parseTree: no '..', no absolute, no empty part
        await mkdir(path.dirname(file), { recursive: true });
        await this.restoreFile(e.hash, e.exec, file);
      }
      if (lstatOf(dest)) await rename(dest, old);
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
      writeFileSync(tmp, data, { mode: READ_ONLY, flag: 'wx' });
      renameSync(tmp, dest);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  private writeTree(hash: string, data: string): void {
    const file = this.treePath(hash);
    this.ensureDirs(path.dirname(file));
    const tmp = tempName(file);
    try {
      writeFileSync(tmp, data, { flag: 'wx' });
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** The folders from the store's root down to `dir` exist and none is a link (for reading). */
  private readableDirs(dir: string): boolean {
    if (this.realDirs.has(dir)) return true;
    for (const d of this.chain(dir)) {
      if (this.realDirs.has(d)) continue;
      if (!lstatOf(d)?.isDirectory()) return false;
      this.realDirs.add(d);
    }
    return true;
  }

  /** Creates the folders from the store's root down to `dir`, replacing a link or file in the way (for writing). */
  private ensureDirs(dir: string): void {
    if (this.realDirs.has(dir)) return;
    mkdirSync(path.dirname(this.dir), { recursive: true });
    for (const d of this.chain(dir)) {
      if (this.realDirs.has(d)) continue;
      const st = lstatOf(d);
      if (st && !st.isDirectory()) rmSync(d, { force: true }); // a link: removes the link, not what it points to
      if (!st?.isDirectory()) mkdirSync(d);
      this.realDirs.add(d);
    }
  }

  /** The store's root and each folder below it down to `dir`. */
  private chain(dir: string): string[] {
    const rel = path.relative(this.dir, dir);
    const parts = rel ? rel.split(path.sep) : [];
    const dirs = [this.dir];
    for (const part of parts) dirs.push(path.join(dirs[dirs.length - 1]!, part));
    return dirs;
  }

  /** For gc: a real folder to look into; a link (or file) in its place is removed, never followed. */
  private isRealDir(dir: string, removed: GcResult): boolean {
    const st = lstatOf(dir);
    if (!st) return false;
    if (st.isDirectory()) return true;
    removeCounted(dir, removed);
    return false;
  }

  /** The stat cache of verified objects; a link planted in its place is removed, never read through. */
  private verifier(): StatCache {
    if (this.verified) return this.verified;
    const file = path.join(this.dir, 'verified');
    const st = lstatOf(file);
    if (st && !st.isFile()) rmSync(file, { recursive: st.isDirectory(), force: true });
    this.verified = new StatCache(file);
    return this.verified;
  }

  private drop(file: string): void {
    rmSync(file, { force: true });
  }
}

function requireEntries(h: PathHash): TreeEntry[] {
  if (!h.entries) throw new Error(`folder hash ${h.hash} has no entries`);
  return h.entries;
}

/** A regular file with no other name: making it read-only affects nothing else. */
function soleName(file: string): boolean {
  const st = lstatOf(file);
  return !!st && st.isFile() && st.nlink === 1;
}

async function digestOf(file: string, size: number): Promise<string> {
  return size <= SMALL_BLOB_BYTES ? digestBytes(readFileSync(file)) : (await digestFile(file)).hash;
}

/**
 * Random once per process, then counted: a random draw per name was a sync crypto call per stored output.
 * Still `<pid>-<letters and digits>` after the mark, the form recovery (src/state/recover.ts) removes once the pid is dead.
 */
const TEMP_PREFIX = `${process.pid}-${randomBytes(4).toString('hex')}`;
let tempCount = 0;

function tempName(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}${TEMP_MARK}${TEMP_PREFIX}${(++tempCount).toString(36)}`);
}

function adoptedKey(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function lstatOf(p: string): Stats | undefined {
  return lstatSync(p, { throwIfNoEntry: false });
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Removes a file, a link (itself, never its target) or a stray folder inside the store. */
function removeCounted(file: string, removed: GcResult): void {
  const st = lstatOf(file);
  if (!st) return;
  if (path.basename(file).includes(TEMP_MARK) && Date.now() - st.mtimeMs < STALE_TEMP_MS) return;
  rmSync(file, { recursive: st.isDirectory(), force: true });
  removed.removedFiles++;
  if (!st.isFile()) return;
  // an object hardlinked from the workspace keeps its blocks until that file goes too
  if (st.nlink > 1) removed.stillLinkedBytes += st.size;
  else removed.removedBytes += st.size;
}
