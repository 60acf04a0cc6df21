/**
 * Starts stage commands through a few long-lived /bin/sh workers instead of forking Node for each one.
 *
 * Node's spawn forks the whole Node process: measured here at about 1 ms of main-thread time per stage at
 * best, and several ms on a loaded machine, which on a 10,000-stage pipeline is the run's bottleneck. A
 * small shell forks in a fraction of that and does it on its own core. Each worker reads one line per job:
 * a shell command line built from shell-quoted words only (see `jobLine`), runs it, and answers with its
 * pid and exit status. A worker runs one stage at a time, under `setsid`: the stage is a process group of
 * its own, so stopping the group stops the stage and everything it started, and what it left running in the
 * background is stopped as soon as it ends (as the spawn runner does). The worker and each running stage are
 * registered so that a later run can stop them if this pipe is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { shellQuote } from '../pipeline/interpolate.js';
import { isAlive } from '../util/alive.js';
import { readLogTail, killGroup, signalNameOf, type ProcessResult, type ProcessSpec } from './process.js';

const WORKER_SCRIPT = `
nl='
'
while IFS= read -r line; do eval "$line"; done
`;

export interface WorkerRegistry {
  add(pgid: number): void;
  remove(pgid: number): void;
}

let workerCount = 0;

interface Pending {
  spec: ProcessSpec;
  pid?: number;
  stop?: () => void;
  resolve: (r: { code: number; pid?: number }) => void;
}

class ShellWorker {
  private readonly child: ChildProcess;
  private current: Pending | undefined;
  private nextId = 0;
  dead = false;

  /**
   * Where the running stage's output goes. Most stages of a big pipeline print nothing: truncating one file
   * per worker costs far less than creating a log file per stage; a stage that printed something, or failed,
   * gets its own log by a rename.
   */
  readonly scratchLog: string;

  constructor(cwd: string, private readonly baseEnv: NodeJS.ProcessEnv, scratchDir: string, private readonly registry?: WorkerRegistry) {
    this.scratchLog = path.join(scratchDir, `.worker-${process.pid}-${++workerCount}.log`);
    this.child = spawn('/bin/sh', ['-c', WORKER_SCRIPT], { cwd, env: baseEnv, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    if (this.child.pid) registry?.add(this.child.pid);
    this.child.on('exit', () => this.onExit());
    this.child.on('error', () => this.onExit());
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  run(spec: ProcessSpec): Promise<{ code: number; pid?: number }> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.current = { spec, resolve };
      this.child.stdin!.write(jobLine(id, spec, this.baseEnv, this.scratchLog) + '\n');
    });
  }

  /** Ends the worker and whatever its stages left running in its group. */
  close(): void {
    this.child.stdin?.end();
    killGroup(this.child.pid, 'SIGKILL');
  }

  stop(): void {
    killGroup(this.child.pid);
  }

  private onLine(line: string): void {
    const [kind, , value] = line.split(' ');
    const job = this.current;
    if (!job) return;
    if (kind === 's') {
      job.pid = Number(value);
      job.spec.registry?.add(job.pid);
      const stageGroup = job.pid;
      job.stop = () => killGroup(stageGroup); // the stage's own group (setsid): the stage and its children
      if (job.spec.signal.aborted) job.stop();
      else job.spec.signal.addEventListener('abort', job.stop, { once: true });
      return;
    }
    if (kind === 'd') {
      this.current = undefined;
      if (job.stop) job.spec.signal.removeEventListener('abort', job.stop);
      if (job.pid) job.spec.registry?.remove(job.pid);
      job.resolve({ code: Number(value), pid: job.pid });
    }
  }

  private onExit(): void {
    this.dead = true;
    if (this.child.pid) this.registry?.remove(this.child.pid);
    const job = this.current;
    this.current = undefined;
    job?.resolve({ code: 255, pid: job.pid });
  }
}

/**
 * One shell command line that runs the stage in the background as a process group of its own (setsid: the
 * forked worker is no group leader, so setsid execs without forking again and the stage's pid is its group),
 * reports its pid, waits, stops what the stage left behind in its group, reports its status.
 * Every value is shell-quoted (newlines spelled as "$nl"); variable names are checked by the schema.
 */
export function jobLine(id: number, spec: ProcessSpec, baseEnv: NodeJS.ProcessEnv, output: string): string {
  const run = execLine(spec, envChanges(spec.env, baseEnv));
  return `${run} </dev/null >${quoteWord(output)} 2>&1 & echo "s ${id} $!"; wait $!; c=$?; kill -9 -$! 2>/dev/null; echo "d ${id} $c"`;
}

/** Prefix assignments, then setsid, then the command (under unshare for --no-network), exec'd by the forked worker. */
function execLine(spec: ProcessSpec, env: EnvChanges): string {
  const command = typeof spec.cmd === 'string' ? ['/bin/sh', '-c', spec.cmd] : spec.cmd;
  const words = [
    'setsid',
    ...(env.unset.length ? ['env', ...env.unset.flatMap((k) => ['-u', k]), '--'] : []),
    ...(spec.noNetwork ? ['unshare', '--net', '--'] : []),
    ...command,
  ];
  return [...env.set.map(([k, v]) => `${k}=${quoteWord(v)}`), ...words.map(quoteWord)].join(' ');
}

interface EnvChanges {
  set: [string, string][];
  unset: string[];
}

/** What the stage adds to the worker's environment, and what it removes. */
function envChanges(env: NodeJS.ProcessEnv, base: NodeJS.ProcessEnv): EnvChanges {
  const unset = Object.keys(base).filter((k) => env[k] === undefined && SAFE_NAME.test(k));
  const set = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && base[e[0]] !== e[1] && SAFE_NAME.test(e[0]));
  return { set, unset };
}

const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quoteWord(word: string): string {
  return word.split('\n').map(shellQuote).join('"$nl"');
}

/** A pool of shell workers; a worker is started when all are busy, so -j N needs at most N. */
export class ShellPool {
  private readonly workers: ShellWorker[] = [];

  constructor(
    private readonly cwd: string,
    private readonly baseEnv: NodeJS.ProcessEnv,
    private readonly scratchDir: string,
    private readonly registry?: WorkerRegistry,
  ) {
    mkdirSync(scratchDir, { recursive: true });
    removeDeadScratch(scratchDir);
  }

  static available(): boolean {
    return process.platform !== 'win32' && existsSync('/bin/sh') && onPath('setsid');
  }

  async run(spec: ProcessSpec): Promise<ProcessResult> {
    if (spec.cwd !== this.cwd) throw new Error(`shell pool runs in ${this.cwd}, not ${spec.cwd}`);
    this.ensureDir(path.dirname(spec.logFile));
    const worker = this.idleWorker();
    const unwatch = spec.watchOutput?.(worker.scratchLog);
    const { code } = await worker.run(spec);
    unwatch?.();
    this.keepLog(worker.scratchLog, spec.logFile, code !== 0);
    const interrupted = spec.signal.aborted;
    const signal = code > 128 ? signalNameOf(code - 128) : undefined;
    const spawnError = code === 127 && !interrupted ? notFound(spec) : undefined;
    const tail = code === 0 ? [] : readLogTail(spec.logFile); // only a failure shows it
    return { exitCode: code, signal, interrupted, tail, spawnError };
  }

  close(): void {
    for (const w of this.workers) {
      w.close();
      rmSync(w.scratchLog, { force: true });
    }
  }

  /** The stage's log is what it printed this time: the scratch file when it printed or failed, else nothing. */
  private keepLog(scratch: string, logFile: string, failed: boolean): void {
    const size = statSync(scratch, { throwIfNoEntry: false })?.size ?? 0;
    if (size > 0 || failed) {
      try {
        renameSync(scratch, logFile);
        return;
      } catch {
        copyFileSync(scratch, logFile); // another filesystem
        return;
      }
    }
    if (existsSync(logFile)) rmSync(logFile, { force: true }); // not last time's output
  }

  private readonly knownDirs = new Set<string>();

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }


  private idleWorker(): ShellWorker {
    const idle = this.workers.find((w) => !w.busy && !w.dead);
    if (idle) return idle;
    const worker = new ShellWorker(this.cwd, this.baseEnv, this.scratchDir, this.registry);
    this.workers.push(worker);
    return worker;
  }
}

/** Scratch logs of pipes that were killed. */
function removeDeadScratch(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = /^\.worker-(\d+)-\d+\.log$/.exec(name)?.[1];
    if (pid && !isAlive(Number(pid))) rmSync(path.join(dir, name), { force: true });
  }
}


function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, program)));
}

/** Exit 127 from env or sh is "command not found"; say which program when the command is an argv. */
function notFound(spec: ProcessSpec): string | undefined {
  const tail = readLogTail(spec.logFile).join('\n');
  if (!/not found|No such file or directory/.test(tail)) return undefined;
  const program = typeof spec.cmd === 'string' ? undefined : spec.cmd[0];
  return program ? `'${program}' was not found (is it installed and on PATH?)` : undefined;
}
