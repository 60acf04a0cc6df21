/**
 * Where a stage's command runs. The CLI chooses and builds the runner (src/cli/build-runner.ts); the builder
 * (src/exec/execute.ts) hands it the stage, its command, environment and log file and gets the outcome back.
 * It never spawns processes itself. A runner says what it offers at once (`capacity`) and what a stage takes
 * of it (`demand`): the builder never oversubscribes either. A fake runner is a few lines:
 *
 *   const fake: StageRunner = { name: 'fake', capacity: { cpu: 1, gpu: 0, mem: 2 ** 40 }, run: async (job) => ... };
 */
import type { Resources, Stage } from '../pipeline/types.js';
import type { ProcessResult, ProcessSpec } from './process.js';

/** One stage to run: the stage as declared, and the process it becomes. */
export interface StageJob extends ProcessSpec {
  stage: Stage;
  /** the stage's key for this run: the same key is the same work */
  key: string;
}

export interface StageResult extends ProcessResult {
  /** how the job ended, in the scheduler's words, when the exit code alone does not say (TIMEOUT, CANCELLED...) */
  endState?: string;
  /** the scheduler's id of the job (Slurm) */
  jobId?: string;
}

export interface StageRunner {
  readonly name: string;
  /** what the runner offers at once (local: cores, GPUs, memory; Slurm: jobs in flight as `cpu`) */
  readonly capacity: Resources;
  /** what one stage takes of the capacity (default: its declared `resources`) */
  demand?(stage: Stage): Resources;
  run(job: StageJob): Promise<StageResult>;
  /**
   * A result for this stage that the runner already has: a job an earlier, killed `pipe run` submitted with
   * the same command and environment, which has ended since. The builder then records it instead of running.
   */
  adopt?(job: StageJob): Promise<StageResult | undefined>;
  /** the runner that runs this stage, when this one only routes (e.g. `executor: local` stages of a Slurm run) */
  route?(stage: Stage): StageRunner;
  close?(): Promise<void> | void;
}

/** The concrete runner of a stage. */
export function runnerOf(runner: StageRunner, stage: Stage): StageRunner {
  return runner.route?.(stage) ?? runner;
}

export function demandOf(runner: StageRunner, stage: Stage): Resources {
  return runner.demand?.(stage) ?? stage.resources;
}

/** Words for how a process ended, the same whichever runner ran it. */
export function exitWords(result: ProcessResult): string {
  if (result.signal) return `killed by ${result.signal}${result.exitCode ? ` (exit ${result.exitCode})` : ''}`;
  return `exit code ${result.exitCode}`;
}
