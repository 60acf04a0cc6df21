/**
 * Objects on loan. A large file output restored from the team cache is written once, as the output, and
 * the store keeps a note of that file in place of a second copy of its bytes: `.pipe/cache/lent/<hash>`,
 * the output's project-relative path and its identity (device, inode, size, and mtime and ctime to the
 * nanosecond). While the file is untouched the note stands for the object. Any write, rename, chmod or
 * replacement changes the file's ctime (which no program can set back), so the note no longer matches and the
 * object is simply not here: an edited output is never taken for the object. Before pipe itself moves,
 * replaces or appends to such an output, the store takes the file in (objects.ts), so no object is lost to
 * pipe's own work.
 */
import { lstatSync, readFileSync, readdirSync, rmSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { escapeThroughSymlink } from '../util/containment.js';

interface Note {
  /** project-relative, '/'-separated */
  path: string;
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

const NOTE_NAME = /^[0-9a-f]{8,128}$/;
/** the containment check stops at a glob character: such a path is never lent */
const GLOB_CHARS = /[*?[\]{}!]/;

export class Loans {
  private notes: Map<string, Note> | undefined;
  private paths: Map<string, string> | undefined;

  /** `dir`: where the notes are; `root`: the project, the only place a lent file may be */
  constructor(private readonly dir: string, private readonly root: string) {}

  /** The lent file holding `hash` with `size` bytes, while it is untouched; else undefined. */
  find(hash: string, size?: number): string | undefined {
    const note = this.all().get(hash);
    if (!note || (size !== undefined && note.size !== size)) return undefined;
    const file = this.fileOf(note);
    return file !== undefined && matches(note, file) ? file : undefined;
  }

  /** The object lent at `abs` (which is untouched since), if any. */
  at(abs: string): string | undefined {
    if (this.all().size === 0) return undefined;
    const hash = this.byPath().get(this.relative(abs));
    const note = hash === undefined ? undefined : this.all().get(hash);
    return note && this.fileOf(note) === abs && matches(note, abs) ? hash : undefined;
  }

  /**
   * Notes that the file now at `abs` holds `hash` (its content was checked by the caller); false when that
   * path cannot be lent (it is not plainly inside the project).
   */
  lend(hash: string, abs: string): boolean {
    const rel = this.relative(abs);
    if (this.fileOf({ path: rel }) !== abs) return false;
    const st = lstatSync(abs, { bigint: true });
    const note: Note = {
      path: rel,
      dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs),
    };
    writeFileAtomic(path.join(this.dir, hash), JSON.stringify(note));
    this.all().set(hash, note);
    this.byPath().set(rel, hash);
    return true;
  }

  /** Forgets the loan of `hash` (never touches the lent file). */
  end(hash: string): void {
    const note = this.all().get(hash);
    if (!note) return;
    this.all().delete(hash);
    if (this.byPath().get(note.path) === hash) this.byPath().delete(note.path);
    rmSync(path.join(this.dir, hash), { force: true });
  }

  /** Every noted hash, valid or not (for gc). */
  hashes(): string[] {
    return [...this.all().keys()];
  }

  /** note path -> hash (the latest note for a path wins: a path holds one file) */
  private byPath(): Map<string, string> {
    this.paths ??= new Map([...this.all()].map(([hash, note]) => [note.path, hash]));
    return this.paths;
  }

  private all(): Map<string, Note> {
    if (this.notes) return this.notes;
    this.notes = new Map();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return this.notes;
    }
    for (const name of names) {
      const note = NOTE_NAME.test(name) ? readNote(path.join(this.dir, name)) : undefined;
      if (note) this.notes.set(name, note);
    }
    return this.notes;
  }

  private relative(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  /** The absolute path of a note's file, if it is a plain path inside the project reached without a link out. */
  private fileOf(note: Pick<Note, 'path'>): string | undefined {
    const rel = note.path;
    if (!rel || rel.startsWith('/') || GLOB_CHARS.test(rel) || rel.split('/').some((p) => p === '..' || p === '' || p === '.')) return undefined;
    if (escapeThroughSymlink(this.root, path.posix.dirname(rel)) !== undefined) return undefined;
    return path.join(this.root, ...rel.split('/'));
  }
}

function readNote(file: string): Note | undefined {
  try {
    if (!lstatSync(file).isFile()) return undefined;
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<Note>;
    const text = (x: unknown): x is string => typeof x === 'string' && /^\d+$/.test(x);
    if (typeof v.path !== 'string' || !text(v.dev) || !text(v.ino) || !text(v.mtimeNs) || !text(v.ctimeNs)) return undefined;
    if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) return undefined;
    return v as Note;
  } catch {
    return undefined;
  }
}

function matches(note: Note, abs: string): boolean {
  let st: BigIntStats | undefined;
  try {
    st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  } catch {
    return false;
  }
  return !!st && st.isFile() && String(st.dev) === note.dev && String(st.ino) === note.ino && Number(st.size) === note.size
    && String(st.mtimeNs) === note.mtimeNs && String(st.ctimeNs) === note.ctimeNs;
}
