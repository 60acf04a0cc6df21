/** Runs one stage command in its own process group, output to its log file. */
import { closeSync, mkdirSync, openSync, readSync, fstatSync } from 'node:fs';
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

export async function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'w+');
  const [file, ...args] = argv(spec);
  let pid: number | undefined;
  const terminate = () => killGroup(pid);
  spec.signal.addEventListener('abort', terminate, { once: true });
  try {
    const { execa } = await import('execa');
    const child = execa(file!, args, {
      cwd: spec.cwd,
      env: spec.env,
      extendEnv: false,
      detached: true,
      stdin: 'ignore',
      // both streams share one open file description, so their lines interleave in order
      stdout: fd as 3,
      stderr: fd as 3,
      reject: false,
      cleanup: false,
      windowsHide: true,
    });
    pid = child.pid;
    if (pid) spec.registry?.add(pid);
    const result = await child;
    killGroup(pid, 'SIGKILL'); // leftovers the stage started and left behind
    if (pid) spec.registry?.remove(pid);
    const interrupted = spec.signal.aborted;
    const spawnError = result.failed && result.exitCode === undefined && !result.signal && !interrupted
      ? result.originalMessage ?? result.shortMessage : undefined;
    return { exitCode: result.exitCode, signal: result.signal, interrupted, tail: readTail(fd), spawnError };
  } finally {
    spec.signal.removeEventListener('abort', terminate);
    closeSync(fd);
  }
}

function argv(spec: ProcessSpec): string[] {
  const command = typeof spec.cmd === 'string' ? ['/bin/sh', '-c', spec.cmd] : spec.cmd;
  return spec.noNetwork ? ['unshare', '--net', '--', ...command] : command;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    return; // the group is gone
  }
  if (signal === 'SIGTERM') setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
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
