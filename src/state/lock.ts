/**
 * One writer per project: `.pipe/lock` holds the pid of the run that owns the state. A second run waits and
 * says for whom; a lock whose process is gone (killed run) is taken over automatically, and so is one whose
 * pid now belongs to another process (the pid was recycled after the run died): told apart by start time.
 */
import { hostname } from 'node:os';
import { StorageError, isStorageFailure } from '../util/errors.js';
import { linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, closeSync } from 'node:fs';
import { writeAll } from '../util/atomic.js';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, startTime, startedAtMs } from '../util/alive.js';
import { recoverAfterCrash, RECOVER_MARKER } from './recover.js';
import { ensureStateDir } from './state-dir.js';

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
  /** the holder's /proc start time (clock ticks since boot), so a recycled pid is not mistaken for it */
  start?: string;
}

export interface Lock {
  release(): void;
}

const UNWRITTEN_GRACE_MS = 5000;

export async function acquireLock(
  stateDir: string,
  opts: {
    command: string;
    onWait?: (holder: LockHolder) => void;
    /** a stale lock was broken: says whose and why */
    onTakeOver?: (message: string) => void;
    signal?: AbortSignal;
    /** folders holding declared outputs: swept for a killed run's temp files when a stale lock was broken */
    outputDirs?: readonly string[];
  },
): Promise<Lock> {
  ensureStateDir(stateDir);
  const file = path.join(stateDir, 'lock');
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: opts.command, start: startTime(process.pid) };
  let announced = false;
  let delay = 50;
  for (;;) {
    if (tryCreate(file, me)) {
      recoverAfterCrash(stateDir, opts.outputDirs);
      return { release: () => releaseIfMine(file) };
    }
    const holder = readHolder(file);
    const stale = staleness(file, holder);
    if (stale) {
      if (breakStale(file, holder)) opts.onTakeOver?.(stale);
      continue;
    }
    if (!announced && holder) {
      opts.onWait?.(holder);
      announced = true;
    }
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    await sleep(delay, undefined, { signal: opts.signal }).catch(() => undefined);
    delay = Math.min(delay * 2, 500);
  }
}

function tryCreate(file: string, me: LockHolder): boolean {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    const fd = openSync(temp, 'w');
    try {
      writeAll(fd, Buffer.from(JSON.stringify(me)));
    } finally {
      closeSync(fd);
    }
    linkSync(temp, file); // atomic create-if-absent of a fully written file
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    if (isStorageFailure(err)) throw new StorageError(`could not take the project lock ${path.relative(process.cwd(), file) || file}`, err);
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Why the lock is stale (its run is gone), or undefined while its run may still hold it. */
function staleness(file: string, holder: LockHolder | undefined): string | undefined {
  if (!holder) {
    try {
      const old = Date.now() - statSync(file).mtimeMs > UNWRITTEN_GRACE_MS;
      return old ? 'took over an unreadable project lock (.pipe/lock) left by a run that was killed' : undefined;
    } catch {
      return undefined; // gone already: the next try creates it
    }
  }
  if (holder.host !== hostname()) return undefined;
  const whose = `pid ${holder.pid} (${holder.command}), started ${holder.started}`;
  if (!isAlive(holder.pid)) return `took over the project lock of ${whose}: that process is gone`;
  if (isRecycledPid(holder)) return `took over the project lock of ${whose}: that process is gone and its pid now belongs to another process`;
  return undefined;
}

/** The wall clocks of the lock and of /proc may disagree a little (rounding to ticks, a clock step). */
const CLOCK_SLACK_MS = 2000;

/**
 * The pid is alive but is not the process that wrote the lock: its start time differs from the one recorded,
 * or (a lock written without it) the process started after the lock was taken.
 */
function isRecycledPid(holder: LockHolder): boolean {
  const ticks = startTime(holder.pid);
  if (ticks === undefined) return false; // no /proc: liveness is all there is
  if (typeof holder.start === 'string' && holder.start !== '') return holder.start !== ticks;
  const locked = Date.parse(holder.started);
  const began = startedAtMs(holder.pid);
  return Number.isFinite(locked) && began !== undefined && began > locked + CLOCK_SLACK_MS;
}

function holderRuns(holder: LockHolder): boolean {
  return isAlive(holder.pid) && !isRecycledPid(holder);
}


/**
 * Moves the stale lock aside; if what was moved turns out to be a fresh lock of another run, puts it back.
 * Returns whether the stale lock was the one removed.
 */
function breakStale(file: string, seen: LockHolder | undefined): boolean {
  const aside = `${file}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    closeSync(openSync(path.join(path.dirname(file), RECOVER_MARKER), 'w'));
    renameSync(file, aside);
  } catch {
    return false;
  }
  const moved = readHolder(aside);
  const another = !!moved && !!seen && (moved.pid !== seen.pid || moved.start !== seen.start) && holderRuns(moved);
  if (another) {
    try {
      linkSync(aside, file);
    } catch {
      /* another run holds it now; the moved one will notice its lock is gone on release */
    }
  }
  rmSync(aside, { force: true });
  return !another;
}

function releaseIfMine(file: string): void {
  const holder = readHolder(file);
  if (holder && holder.pid === process.pid && holder.host === hostname()) rmSync(file, { force: true });
}
