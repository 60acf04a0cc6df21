/**
 * Cleaning up after a `pipe` that was killed (SIGKILL, power loss) while it held the project lock:
 *  - its stage process groups, which outlive it (each stage runs in its own group), are registered under
 *    `.pipe/procs/<pgid>` while they run, and stopped by the next run that takes the lock, before they can
 *    write an output behind its back;
 *  - its temporary files (`*.tmp-<pid>-<hex>`, `lock.<pid>.<rand>`) are removed once their pid is dead.
 */
import { hostname } from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
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

const TEMP_PID = /\.tmp-(\d+)-[0-9a-z]+$|^lock\.(?:stale\.)?(\d+)\.[0-9a-z]+$/;

/** The process groups this run has started and not yet seen exit. */
export class ProcessRegistry {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'procs');
  }

  add(pgid: number, stage: string): void {
    const entry: ProcessEntry = { owner: process.pid, host: hostname(), stage, start: startTime(pgid) };
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(path.join(this.dir, String(pgid)), JSON.stringify(entry));
    } catch {
      /* a read-only state folder: nothing to recover from later either */
    }
  }

  remove(pgid: number): void {
    rmSync(path.join(this.dir, String(pgid)), { force: true });
  }
}

/** Stops the stage groups of runs whose pipe process is gone. Call while holding the project lock. */
export function stopOrphanedStages(stateDir: string): string[] {
  const dir = path.join(stateDir, 'procs');
  const stopped: string[] = [];
  for (const name of listDir(dir)) {
    const pgid = Number(name);
    const entry = readEntry(path.join(dir, name));
    if (entry && entry.host !== hostname()) continue; // another machine's run on a shared folder
    if (entry && (entry.owner === process.pid || isAlive(entry.owner))) continue;
    if (entry && Number.isInteger(pgid) && pgid > 1 && startTime(pgid) === entry.start) {
      try {
        process.kill(-pgid, 'SIGKILL');
        stopped.push(entry.stage);
      } catch {
        /* already gone */
      }
    }
    rmSync(path.join(dir, name), { force: true });
  }
  return stopped;
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

function readEntry(file: string): ProcessEntry | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessEntry;
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

