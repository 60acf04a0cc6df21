/**
 * The local runner: stage commands as processes on this machine, through the shell-worker pool where there
 * is a /bin/sh (fast), else one spawn per stage. Either way a stage shares a process group with nothing
 * else of this run, what it left running is sent SIGTERM when it ends, and its exit is reported the same way.
 */
import { ShellPool, type WorkerRegistry } from './shell-pool.js';
import { runProcess } from './process.js';
import type { Resources } from '../pipeline/types.js';
import type { StageRunner } from './runner.js';

export interface LocalRunnerOptions {
  root: string;
  /** the environment the shell workers start with (the stage's differences are applied per stage) */
  baseEnv: NodeJS.ProcessEnv;
  /** where the shell workers keep their scratch logs */
  scratchDir: string;
  capacity: Resources;
  /** told the workers' process groups, so a later run can stop them if this pipe is killed */
  registry?: WorkerRegistry;
  /** 'spawn': one Node spawn per stage even where the shell pool works (PIPE_LOCAL_STRATEGY=spawn) */
  strategy?: 'shell-pool' | 'spawn';
}

export function createLocalRunner(opts: LocalRunnerOptions): StageRunner {
  const usePool = opts.strategy !== 'spawn' && ShellPool.available();
  if (!usePool) return { name: 'local', capacity: opts.capacity, run: runProcess };
  let pool: ShellPool | undefined; // started with the first stage: a run with nothing to do starts no shell
  return {
    name: 'local',
    capacity: opts.capacity,
    run: (job) => (pool ??= new ShellPool(opts.root, opts.baseEnv, opts.scratchDir, opts.registry)).run(job),
    close: () => pool?.close(),
  };
}
