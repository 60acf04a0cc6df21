/** Runs one stage command in its own process group, output to its log file. */
import { closeSync, mkdirSync, openSync, readSync, fstatSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';

export interface ProcessSpec {
  cmd: string | string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  signal: AbortSignal;
  /** run inside a fresh network namespace with no interfaces up */
  noNetwork?: boolean;
  /** told the process group while it runs, so a later run can stop it if this pipe is killed */
  registry?: { add(pgid: number): void; remove(pgid: number): void };
  /** told where the output goes while the process runs (for a live view); the result is called when it exited */
  watchOutput?: (file: string) => () => void;
}

export interface ProcessResult {
  exitCode?: number;
  signal?: string;
  interrupted: boolean;
  /** the last lines of the log, for the failure message */
  tail: string[];
  /** the program could not be started at all */
  spawnError?: string;
}

const KILL_GRACE_MS = 2000;
const TAIL_BYTES = 4096;

/**
 * node:child_process rather than execa here: measured with bench/spawn.js, execa costs the main thread
 * about 2.1 ms per stage against 1.0 ms for a bare spawn with the log as a file descriptor, and on a
 * 10,000-stage run the main thread is the bottleneck.
 */
export async function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'w+');
  const [file, ...args] = argv(spec);
  let pid: number | undefined;
  let unwatch: (() => void) | undefined;
  const terminate = () => killGroup(pid);
  spec.signal.addEventListener('abort', terminate, { once: true });
  try {
    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      // both streams share one open file description, so their lines interleave in order
      const child = spawn(file!, args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
      pid = child.pid;
      if (pid) spec.registry?.add(pid);
      if (pid) unwatch = spec.watchOutput?.(spec.logFile);
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    unwatch?.();
    killGroup(pid); // leftovers the stage started and left behind: SIGTERM, as the shell workers do, then SIGKILL
    if (pid) spec.registry?.remove(pid);
    const interrupted = spec.signal.aborted;
    const spawnError = outcome.error && !interrupted ? spawnMessage(outcome.error, file!) : undefined;
    // a shell's way of saying it: killed by signal N is exit status 128+N, whichever runner saw it
    const exitCode = outcome.signal ? 128 + (constants.signals[outcome.signal] ?? 0) : outcome.code ?? undefined;
    return {
      exitCode,
      signal: outcome.signal ?? (exitCode !== undefined && exitCode > 128 ? signalNameOf(exitCode - 128) : undefined),
      interrupted,
      tail: readTail(fd),
      spawnError,
    };
  } finally {
    spec.signal.removeEventListener('abort', terminate);
    closeSync(fd);
  }
}

/** SIGKILL for 9: the name of a signal number, as a shell's exit status 128+N reports it. */
export function signalNameOf(n: number): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === n);
}

function spawnMessage(error: Error, file: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `'${file}' was not found (is it installed and on PATH?)`;
  if (code === 'EACCES') return `'${file}' is not executable`;
  return error.message;
}

function argv(spec: ProcessSpec): string[] {
  const command = typeof spec.cmd === 'string' ? ['/bin/sh', '-c', spec.cmd] : spec.cmd;
  return spec.noNetwork ? ['unshare', '--net', '--', ...command] : command;
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    return; // the group is gone
  }
  if (signal === 'SIGTERM') setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
}

/** The last lines of a stage log. */
export function readLogTail(file: string): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    return readTail(fd);
  } finally {
    closeSync(fd);
  }
}

function readTail(fd: number): string[] {
  const size = fstatSync(fd).size;
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, size - length);
  const lines = buffer.toString('utf8').split('\n');
  if (size > length) lines.shift();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-20);
}
