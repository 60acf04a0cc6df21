/**
 * Starts stage commands through a few long-lived /bin/sh workers instead of forking Node for each one.
 *
 * Node's spawn forks the whole Node process: measured here at about 1 ms of main-thread time per stage at
 * best, and several ms on a loaded machine, which on a 10,000-stage pipeline is the run's bottleneck. A
 * small shell forks in a fraction of that and does it on its own core. Each worker reads one line per job:
 * a shell command line built from shell-quoted words only (see `jobLine`), runs it, and answers with its
 * exit status. A worker runs one stage at a time, in a subshell of its own in the foreground: one fork and
 * the command's own exec per stage, as `sh -c` costs ninja. Each worker is a process group (and session) of
 * its own, which only that stage and what it starts share with it: when the stage ends the worker sends
 * SIGTERM to its group, so what the stage left running in the background is stopped then, as the spawn runner
 * does; the worker catches the signal and lives on (a caught signal is the default again in every stage).
 * Giving each stage a group of its own instead costs an exec of `setsid` and of /bin/sh per stage (measured
 * here: 3.5 ms a stage against 1.8 ms, and a 10,000-stage run 1.5x slower); dash cannot make one without a
 * terminal. Stopping a stage stops the worker's group, and the worker is then not used again. A leftover
 * that ignores SIGTERM is killed with the worker at the end of the run. The worker is registered so that a
 * later run can stop it, and whatever its stages left, if this pipe is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { shellQuote } from '../pipeline/interpolate.js';
import { isAlive } from '../util/alive.js';
import { readLogTail, killGroup, signalNameOf, type ProcessResult, type ProcessSpec } from './process.js';

/**
 * The worker is a shell reading its commands from its stdin (\`sh -s\`), one job line at a time: it reads
 * them in blocks, where the \`read\` builtin (\`while read -r line; do eval "$line"; done\`) reads one byte per
 * system call, so as not to read past the line: 400 reads a stage, 2 million at 5,000 stages, most of the
 * system time of a run. Nothing else reads that stdin: every stage's is /dev/null. First the worker catches
 * the signals a stage may send its group (\`kill 0\`, and its own SIGTERM to leftovers) so that they end the
 * stage, not the worker; a caught signal is reset to its default in every subshell. Its own stderr goes
 * nowhere: dash says "Terminated" there for a foreground stage that a signal ended, and the stage's own
 * output has its log.
 */
const WORKER_SETUP = `nl='
'
trap : HUP INT QUIT TERM USR1 USR2 ALRM
`;

export interface WorkerRegistry {
  add(pgid: number): void;
  remove(pgid: number): void;
}

let workerCount = 0;

interface Pending {
  spec: ProcessSpec;
  stop: () => void;
  resolve: (code: number) => void;
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

  /** The worker's environment: never one of its own variables, so they are never exported to a stage. */
  private readonly baseEnv: NodeJS.ProcessEnv;

  constructor(cwd: string, env: NodeJS.ProcessEnv, scratchDir: string, private readonly registry?: WorkerRegistry) {
    this.baseEnv = withoutWorkerVariables(env);
    this.scratchLog = path.join(scratchDir, `.worker-${process.pid}-${++workerCount}.log`);
    this.child = spawn('/bin/sh', ['-s'], { cwd, env: this.baseEnv, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    this.child.stdin!.write(WORKER_SETUP);
    if (this.child.pid) registry?.add(this.child.pid);
    this.child.on('exit', (_code, signal) => this.onExit(signal));
    this.child.on('error', () => this.onExit(null));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** A worker whose stage was stopped takes no other: its group is being killed. */
  get usable(): boolean {
    return !this.dead && !this.retired;
  }

  private retired = false;

  run(spec: ProcessSpec): Promise<number> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const stop = () => this.stopStage();
      this.current = { spec, resolve, stop };
      this.child.stdin!.write(jobLine(id, spec, this.baseEnv, this.scratchLog) + '\n');
      if (spec.signal.aborted) stop();
      else spec.signal.addEventListener('abort', stop, { once: true });
    });
  }

  /** The stage, everything it started, and then the worker (SIGTERM, SIGKILL after a grace): the group. */
  private stopStage(): void {
    this.retired = true;
    killGroup(this.child.pid);
  }

  /** Ends the worker and whatever its stages left running in its group. */
  close(): void {
    this.child.stdin?.end();
    killGroup(this.child.pid, 'SIGKILL');
  }

  private onLine(line: string): void {
    const [kind, , value] = line.split(' ');
    const job = this.current;
    if (!job || kind !== 'd') return;
    this.current = undefined;
    job.spec.signal.removeEventListener('abort', job.stop);
    job.resolve(Number(value));
  }

  /** A stage that sent SIGKILL to its group (\`kill -9 0\`) took the worker with it: it was killed by SIGKILL. */
  private onExit(signal: NodeJS.Signals | null): void {
    this.dead = true;
    if (this.child.pid) this.registry?.remove(this.child.pid);
    const job = this.current;
    this.current = undefined;
    job?.spec.signal.removeEventListener('abort', job.stop);
    job?.resolve(signal ? 128 + (constants.signals[signal] ?? 0) : 255);
  }
}

/**
 * One shell command line that runs the stage in the foreground, stops what it left behind in the worker's
 * group, and reports its status. Every value is shell-quoted (newlines spelled as "$nl"); variable names are
 * checked by the schema.
 */
export function jobLine(id: number, spec: ProcessSpec, baseEnv: NodeJS.ProcessEnv, output: string): string {
  const env = envChanges(spec.env, baseEnv);
  const run = typeof spec.cmd === 'string' && !spec.noNetwork && !OWN_SHELL.test(spec.cmd) ? inSubshell(spec.cmd, env, spec.env) : execLine(spec, env);
  return `${run} </dev/null >${quoteWord(output)} 2>&1; c=$?; kill -TERM 0 2>/dev/null; echo "d ${id} $c"`;
}

/**
 * argv, or a command under unshare or with a shell of its own: exec'd in a subshell with the stage's variables.
 * Always exec'd, so a program named like a shell builtin is the program (as a spawn runs it), and \`[cd, /]\` or
 * \`[export, X=1]\` cannot change the worker's folder or variables for the stages after it (it is not found).
 */
function execLine(spec: ProcessSpec, env: EnvChanges): string {
  const command = typeof spec.cmd === 'string' ? ['/bin/sh', '-c', spec.cmd] : spec.cmd;
  const words = [...(spec.noNetwork ? ['unshare', '--net', '--'] : []), ...command];
  return subshell(env, `exec ${words.map(quoteWord).join(' ')}`);
}

/** A subshell's \`$$\` and \`$PPID\` are the worker's: a command that uses them gets a /bin/sh of its own. */
const OWN_SHELL = /\$\$|\$\{\$\}|PPID/;

/**
 * A shell command runs in a subshell of the worker (a fork of a small shell, as \`sh -c\` would be, minus the
 * exec of /bin/sh): the worker's own variables that the stage does not also have are dropped (inside the
 * eval: the quoted command needs \`nl\` until then), and the command evaluated; its last command is exec'd by
 * the shell as usual.
 */
function inSubshell(cmd: string, env: EnvChanges, stageEnv: NodeJS.ProcessEnv): string {
  const workers = WORKER_VARIABLES.filter((k) => stageEnv[k] === undefined);
  const prelude = workers.length ? `unset ${workers.join(' ')}\n` : '';
  return subshell(env, `eval ${quoteWord(prelude + cmd)}`);
}

/** \`( the stage's variables exported, the others unset; body )\`: nothing of it outlives the stage. */
function subshell(env: EnvChanges, body: string): string {
  const setup = [...env.unset.map((k) => `unset ${k}`), ...env.set.map(([k, v]) => `export ${k}=${quoteWord(v)}`)];
  return `( ${[...setup, body].join('; ')} )`;
}

/**
 * The worker's own shell variables (its setup and job lines set them; \`line\` was its loop's). They are kept out of its environment:
 * a variable of that name inherited from it would stay exported, with the job line as its value, in every
 * stage; a stage that has one gets it as any other of its variables.
 */
const WORKER_VARIABLES = ['line', 'c', 'nl'];

function withoutWorkerVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const k of WORKER_VARIABLES) delete rest[k];
  return rest;
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
    return process.platform !== 'win32' && existsSync('/bin/sh');
  }

  async run(spec: ProcessSpec): Promise<ProcessResult> {
    if (spec.cwd !== this.cwd) throw new Error(`shell pool runs in ${this.cwd}, not ${spec.cwd}`);
    this.ensureDir(path.dirname(spec.logFile));
    const worker = this.idleWorker();
    const unwatch = spec.watchOutput?.(worker.scratchLog);
    const code = await worker.run(spec);
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
    const idle = this.workers.find((w) => !w.busy && w.usable);
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


/** Exit 127 from env or sh is "command not found"; say which program when the command is an argv. */
function notFound(spec: ProcessSpec): string | undefined {
  const tail = readLogTail(spec.logFile).join('\n');
  if (!/not found|No such file or directory/.test(tail)) return undefined;
  const program = typeof spec.cmd === 'string' ? undefined : spec.cmd[0];
  return program ? `'${program}' was not found (is it installed and on PATH?)` : undefined;
}
