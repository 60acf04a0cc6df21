/**
 * Where a stage's command runs. The builder hands a runner the command, environment and log file and gets
 * the exit status back; it never spawns processes itself. A cluster runner (e.g. Slurm's `srun`/`sbatch`
 * with the stage's `resources`) implements the same interface without touching the planner or the builder.
 */
import { runProcess, type ProcessResult, type ProcessSpec } from './process.js';

export interface StageRunner {
  readonly name: string;
  run(spec: ProcessSpec): Promise<ProcessResult>;
}

/** Runs stages as local child processes, each in its own process group. */
export const localRunner: StageRunner = { name: 'local', run: runProcess };
