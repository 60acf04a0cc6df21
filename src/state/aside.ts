/**
 * Outputs set aside while their stage runs. Before a command runs, each declared output that exists is renamed
 * into `.pipe/aside/<run>/<n>` (a rename: nothing is copied or hashed), so the command starts from nothing and
 * its result never depends on an earlier run. When the stage succeeds, what was set aside is dropped if the
 * cache holds it, else kept under `.pipe/backup/` (a hand-edited or never-recorded output is never lost); when
 * it fails, it is renamed back.
 *
 * A journal line per output, written before the rename, and a `done` line before the new result is recorded,
 * let the next holder of the project lock finish the job after pipe itself was killed (recoverSetAside).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeAll } from '../util/atomic.js';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { escapeThroughSymlink } from '../util/containment.js';

/** An output moved out of its place; `at` is where it is now (absolute). */
export interface SetAside {
  id: number;
  /** the output's project-relative path */
  out: string;
  at: string;
  /** the cache holds exactly this content: dropping it loses nothing */
  cached: boolean;
}

interface JournalEntry {
  id: number;
  out: string;
  /** project-relative */
  at: string;
  cached: boolean;
}

const ASIDE_DIR = 'aside';
const BACKUP_DIR = 'backup';
const JOURNAL = 'journal';
/** the name of an output set aside next to itself, when `.pipe/` is on another filesystem */
const SIBLING_MARK = '.pipe-aside-';

/** The outputs one run has set aside. Create one per run; call close() at its end. */
export class AsideArea {
  private readonly root: string;
  private readonly name = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private dirMade = false;
  private fd: number | undefined;
  private next = 0;
  /** set aside and neither put back nor dropped */
  private readonly open = new Set<number>();
  private readonly backup: Backup;
  private readonly removals: Promise<unknown>[] = [];

  constructor(private readonly stateDir: string) {
    this.root = path.dirname(stateDir);
    this.backup = new Backup(stateDir);
  }

  private get dir(): string {
    return path.join(this.stateDir, ASIDE_DIR, this.name);
  }

  /** Renames the output at `abs` out of the way. Throws (having moved nothing) when it cannot. */
  moveAway(out: string, abs: string, cached: boolean): SetAside {
    this.ensureDir();
    const id = this.next++;
    let at = path.join(this.dir, String(id));
    this.journalLine({ id, out, at: this.rel(at), cached });
    try {
      renameSync(abs, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw new Error(`could not move output ${out} out of the way: ${messageOf(err)}`);
      at = path.join(path.dirname(abs), `.${path.basename(abs)}${SIBLING_MARK}${this.name}-${id}`);
      this.journalLine({ id, out, at: this.rel(at), cached });
      renameSync(abs, at);
    }
    this.open.add(id);
    return { id, out, at, cached };
  }

  /** Puts a set-aside output back in its place, replacing whatever the failed stage left there. */
  async putBack(entry: SetAside): Promise<void> {
    const abs = path.join(this.root, entry.out);
    await rm(abs, { recursive: true, force: true });
    mkdirSync(path.dirname(abs), { recursive: true });
    renameSync(entry.at, abs);
    this.open.delete(entry.id);
  }

  /** The stage succeeded: from here on, a recovery must not put these back. Call before recording the result. */
  markDone(entries: readonly SetAside[]): void {
    for (const e of entries) this.journalLine({ done: e.id });
  }

  /**
   * Keeps what the cache does not hold under `.pipe/backup/` and returns where each went (project-relative);
   * removes the rest in the background (close() waits for it): downstream stages need not wait for a delete.
   */
  drop(entries: readonly SetAside[]): { out: string; kept: string }[] {
    const kept: { out: string; kept: string }[] = [];
    for (const e of entries) {
      if (e.cached) {
        this.removals.push(rm(e.at, { recursive: true, force: true }).then(() => this.open.delete(e.id), () => undefined));
        continue;
      }
      kept.push({ out: e.out, kept: this.rel(this.backup.keep(e.at, e.out)) });
      this.open.delete(e.id);
    }
    return kept;
  }

  /** Removes this run's area, unless something could not be put back: the next run's recovery handles that. */
  async close(): Promise<void> {
    await Promise.all(this.removals.splice(0));
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.dirMade && this.open.size === 0) rmSync(this.dir, { recursive: true, force: true });
  }

  private ensureDir(): void {
    if (this.dirMade) return;
    mkdirSync(this.dir, { recursive: true });
    this.dirMade = true;
  }

  /** No fsync: the journal serves the recovery after a killed pipe, and the kernel has the line by then. */
  private journalLine(line: JournalEntry | { done: number }): void {
    this.fd ??= openSync(path.join(this.dir, JOURNAL), 'a');
    writeAll(this.fd, Buffer.from(JSON.stringify(line) + '\n'));
  }

  private rel(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }
}

/** `.pipe/backup/<time>-XXXXXX/<output path>`: outputs pipe moved away that the cache does not hold. */
class Backup {
  private dir: string | undefined;

  constructor(private readonly stateDir: string) {}

  keep(from: string, out: string): string {
    if (!this.dir) {
      const base = path.join(this.stateDir, BACKUP_DIR);
      mkdirSync(base, { recursive: true });
      this.dir = mkdtempSync(path.join(base, `${new Date().toISOString().replace(/[:.]/g, '-')}-`));
    }
    const dest = path.join(this.dir, ...out.split('/'));
    mkdirSync(path.dirname(dest), { recursive: true });
    rmSync(dest, { recursive: true, force: true });
    renameSync(from, dest);
    return dest;
  }
}

/**
 * After a pipe that was killed mid-stage (call under the project lock, after its stage processes were stopped):
 * outputs it set aside go back in place of what the killed stage left, and those of stages that had succeeded
 * are dropped or backed up. Returns the outputs put back.
 */
export function recoverSetAside(stateDir: string): string[] {
  const root = path.dirname(stateDir);
  const area = path.join(stateDir, ASIDE_DIR);
  const restored: string[] = [];
  const backup = new Backup(stateDir);
  for (const run of listDir(area)) {
    const dir = path.join(area, run);
    const { entries, done } = readJournal(path.join(dir, JOURNAL));
    for (const e of latestById(entries)) {
      const at = safePath(root, e.at);
      const abs = safePath(root, e.out);
      if (!at || !abs || !exists(at)) continue;
      if (!done.has(e.id)) {
        rmSync(abs, { recursive: true, force: true });
        mkdirSync(path.dirname(abs), { recursive: true });
        renameSync(at, abs);
        restored.push(e.out);
      } else if (e.cached) rmSync(at, { recursive: true, force: true });
      else backup.keep(at, e.out);
    }
    // data whose journal line was lost (a power loss between the line and the rename reaching the disk): keep it
    for (const name of listDir(dir)) if (name !== JOURNAL) backup.keep(path.join(dir, name), `unjournaled/${run}/${name}`);
    rmSync(dir, { recursive: true, force: true });
  }
  return restored;
}

function readJournal(file: string): { entries: JournalEntry[]; done: Set<number> } {
  const entries: JournalEntry[] = [];
  const done = new Set<number>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { entries, done };
  }
  for (const line of text.split('\n')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a torn last line: its rename never happened
    }
    const p = parsed as Partial<JournalEntry> & { done?: number };
    if (typeof p.done === 'number') done.add(p.done);
    else if (typeof p.id === 'number' && typeof p.out === 'string' && typeof p.at === 'string') entries.push({ id: p.id, out: p.out, at: p.at, cached: p.cached === true });
  }
  return { entries, done };
}

/** An entry is journaled again when its rename had to fall back to a sibling: the later line wins. */
function latestById(entries: JournalEntry[]): JournalEntry[] {
  return [...new Map(entries.map((e) => [e.id, e])).values()];
}

/** The absolute path of a journaled project-relative path, if it stays inside the project (symlinks included). */
function safePath(root: string, rel: string): string | undefined {
  if (path.isAbsolute(rel) || rel.split('/').some((p) => p === '..' || p === '')) return undefined;
  if (escapeThroughSymlink(root, path.posix.dirname(rel)) !== undefined) return undefined;
  return path.join(root, ...rel.split('/'));
}

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function messageOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}${e.syscall ? ` (${e.syscall})` : ''}` : String(err);
}
