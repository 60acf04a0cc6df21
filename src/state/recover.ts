/**
 * Cleaning up after a `pipe` that was killed (SIGKILL, power loss) while it held the project lock:
 *  - its stage process groups, which outlive it (each stage runs in its own group), are registered under
 *    `.pipe/procs/<pgid>` while they run, and stopped by the next run that takes the lock, before they can
 *    write an output behind its back;
 *  - its temporary files (`*.tmp-<pid>-<hex>`, `lock.<pid>.<rand>`) are removed once their pid is dead.
 */
import { hostname } from 'node:os';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, lstatSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isAlive, startTime } from '../util/alive.js';
import { recoverSetAside } from './aside.js';

interface ProcessEntry {
  owner: number;
  host: string;
  stage: string;
  /** the group leader's start time (Linux /proc), so a reused pid is never signalled */
  start?: string;
}

interface JournalHead {
  owner: number;
  host: string;
}

const TEMP_PID = /\.tmp-(\d+)-[0-9a-z]+$|^lock\.(?:stale\.)?(\d+)\.[0-9a-z]+$/;
const JOURNAL = /^run-\d+-\d+$/;
/** past this size a journal with nothing running is cut back to its head (`pipe watch` runs for days) */
const COMPACT_BYTES = 1 << 20;
let journals = 0;

/**
 * The process groups this run has started and not yet seen exit, as one append-only journal per registry
 * (`+ pgid start stage` when a group starts, `- pgid` when it ends): one write to an open file per event,
 * where a file per group cost a create, a write and an unlink (2 s of a 5,000-stage run).
 */
export class ProcessRegistry {
  private readonly file: string;
  private fd: number | undefined;
  private unusable = false;
  private live = 0;
  private bytes = 0;
  private headBytes = 0;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'procs', `run-${process.pid}-${++journals}`);
  }

  add(pgid: number, stage: string): void {
    this.live++;
    this.append(`+ ${pgid} ${startTime(pgid) ?? '-'} ${JSON.stringify(stage)}\n`);
  }

  remove(pgid: number): void {
    this.live = Math.max(0, this.live - 1);
    this.append(`- ${pgid}\n`);
    if (this.live === 0 && this.bytes > COMPACT_BYTES && this.fd !== undefined) {
      ftruncateSync(this.fd, this.headBytes);
      this.bytes = this.headBytes;
    }
  }

  /** Nothing of this run is running any more: its journal goes. */
  close(): void {
    this.unusable = true; // a worker's exit seen after this must not start a new journal
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.file, { force: true });
  }

  private append(line: string): void {
    const fd = this.open();
    if (fd === undefined) return;
    try {
      writeSync(fd, line);
      this.bytes += Buffer.byteLength(line);
    } catch {
      /* a full disk: the stages still run, a crash now could leave one behind */
    }
  }

  private open(): number | undefined {
    if (this.fd !== undefined || this.unusable) return this.fd;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = openSync(this.file, 'a');
      const head: JournalHead = { owner: process.pid, host: hostname() };
      const line = JSON.stringify(head) + '\n';
      writeSync(this.fd, line);
      this.headBytes = this.bytes = Buffer.byteLength(line);
    } catch {
      this.unusable = true; // a read-only state folder: nothing to recover from later either
    }
    return this.fd;
  }
}

/** Stops the stage groups of runs whose pipe process is gone. Call while holding the project lock. */
export function stopOrphanedStages(stateDir: string): string[] {
  const dir = path.join(stateDir, 'procs');
  const stopped: string[] = [];
  for (const name of listDir(dir)) {
    const file = path.join(dir, name);
    const journal = JOURNAL.test(name) ? readJournal(file) : undefined;
    const entries = journal ? journal.entries : [readEntry(file)].filter((e) => e !== undefined);
    const owner = journal?.head ?? entries[0];
    if (owner && owner.host !== hostname()) continue; // another machine's run on a shared folder
    if (owner && (owner.owner === process.pid || isAlive(owner.owner))) continue;
    for (const entry of entries) if (stopGroup(entry)) stopped.push(entry.stage);
    rmSync(file, { force: true });
  }
  return stopped;
}

/** SIGKILLs the group when its leader is still the process that was registered. */
function stopGroup(entry: ProcessEntry & { pgid?: number }): boolean {
  const pgid = entry.pgid;
  if (pgid === undefined || !Number.isInteger(pgid) || pgid <= 1 || startTime(pgid) !== entry.start) return false;
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false; // already gone
  }
}

/** The head and the groups still running when the journal was last written (a torn last line is ignored). */
function readJournal(file: string): { head: JournalHead; entries: (ProcessEntry & { pgid: number })[] } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [first, ...lines] = text.split('\n');
  let head: JournalHead;
  try {
    head = JSON.parse(first!) as JournalHead;
  } catch {
    return undefined;
  }
  const running = new Map<number, ProcessEntry & { pgid: number }>();
  for (const line of lines) {
    const m = /^([+-]) (\d+)(?: (\S+) (".*"))?$/.exec(line);
    if (!m) continue;
    const pgid = Number(m[2]);
    if (m[1] === '-') running.delete(pgid);
    else if (m[4] !== undefined) running.set(pgid, { ...head, pgid, start: m[3] === '-' ? undefined : m[3], stage: parseStage(m[4]) });
  }
  return { head, entries: [...running.values()] };
}

function parseStage(quoted: string): string {
  try {
    return String(JSON.parse(quoted));
  } catch {
    return quoted;
  }
}

/**
 * After the lock is taken: stop orphaned stages; put back the outputs they had set aside (state/aside.ts); remove dead runs' temp files at the top of the state folder,
 * and everywhere in it and in the output folders when a stale lock was broken since the last recovery.
 */
export function recoverAfterCrash(stateDir: string, outputDirs: readonly string[] = []): void {
  const stopped = stopOrphanedStages(stateDir);
  recoverSetAside(stateDir); // after the stages are stopped: none of them may write over what is put back
  const marker = path.join(stateDir, RECOVER_MARKER);
  const crashed = stopped.length > 0 || existsSync(marker);
  sweepTemps(stateDir, crashed);
  if (!crashed) return;
  for (const dir of new Set(outputDirs)) sweepTemps(dir, false);
  rmSync(marker, { force: true });
}

/** Left by whoever breaks a stale lock: the next lock holder must sweep. */
export const RECOVER_MARKER = 'recover-needed';

/** Removes the temporary files of dead processes in `dir` (and below it when `deep`). */
export function sweepTemps(dir: string, deep: boolean): number {
  let removed = 0;
  for (const name of listDir(dir)) {
    const abs = path.join(dir, name);
    const match = TEMP_PID.exec(name);
    const pid = match ? Number(match[1] ?? match[2]) : undefined;
    if (pid !== undefined && pid !== process.pid && !isAlive(pid)) {
      rmSync(abs, { recursive: true, force: true });
      removed++;
      continue;
    }
    if (deep && isDirectory(abs)) removed += sweepTemps(abs, true);
  }
  return removed;
}

/** A file per group, named by its pgid, as pipe wrote them before the journal. */
function readEntry(file: string): (ProcessEntry & { pgid: number }) | undefined {
  try {
    return { ...(JSON.parse(readFileSync(file, 'utf8')) as ProcessEntry), pgid: Number(path.basename(file)) };
  } catch {
    return undefined;
  }
}

function isDirectory(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

