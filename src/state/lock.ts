/**
 * One writer per project: `.pipe/lock` holds the pid of the run that owns the state. A second run waits and
 * says for whom; a lock whose process is gone (killed run) is taken over automatically.
 */
import { hostname } from 'node:os';
import { linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../util/alive.js';
import { recoverAfterCrash, RECOVER_MARKER } from './recover.js';
import { ensureStateDir } from './state-dir.js';

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
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
    signal?: AbortSignal;
    /** folders holding declared outputs: swept for a killed run's temp files when a stale lock was broken */
    outputDirs?: readonly string[];
  },
): Promise<Lock> {
  ensureStateDir(stateDir);
  const file = path.join(stateDir, 'lock');
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: opts.command };
  let announced = false;
  let delay = 50;
  for (;;) {
    if (tryCreate(file, me)) {
      recoverAfterCrash(stateDir, opts.outputDirs);
      return { release: () => releaseIfMine(file) };
    }
    const holder = readHolder(file);
    if (isStale(file, holder)) {
      breakStale(file, holder);
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
  const fd = openSync(temp, 'w');
  writeSync(fd, JSON.stringify(me));
  closeSync(fd);
  try {
    linkSync(temp, file); // atomic create-if-absent of a fully written file
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
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

function isStale(file: string, holder: LockHolder | undefined): boolean {
  if (!holder) {
    try {
      return Date.now() - statSync(file).mtimeMs > UNWRITTEN_GRACE_MS;
    } catch {
      return false; // gone already: the next try creates it
    }
  }
  if (holder.host !== hostname()) return false;
  return !isAlive(holder.pid);
}


/** Moves the stale lock aside; if what was moved turns out to be a fresh lock of another run, puts it back. */
function breakStale(file: string, seen: LockHolder | undefined): void {
  const aside = `${file}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    closeSync(openSync(path.join(path.dirname(file), RECOVER_MARKER), 'w'));
    renameSync(file, aside);
  } catch {
    return;
  }
  const moved = readHolder(aside);
  if (moved && seen && moved.pid !== seen.pid && isAlive(moved.pid)) {
    try {
      linkSync(aside, file);
    } catch {
      /* another run holds it now; the moved one will notice its lock is gone on release */
    }
  }
  rmSync(aside, { force: true });
}

function releaseIfMine(file: string): void {
  const holder = readHolder(file);
  if (holder && holder.pid === process.pid && holder.host === hostname()) rmSync(file, { force: true });
}
