/**
 * A stage's sbatch options: its name and place (job name pipe:<run>:<stage>, --chdir, --output to the stage
 * log), its resources (cpu → --cpus-per-task, mem → --mem, gpu → --gres=gpu:N), and the pipeline's `slurm:`
 * block under the stage's own.
 */
import type { Pipeline, SlurmOptions, Stage } from '../../pipeline/types.js';

export const DEFAULT_LATENCY_WAIT_S = 5;

export function slurmOptionsOf(pipeline: Pipeline, stage: Stage): SlurmOptions {
  const top = pipeline.slurm ?? {};
  const own = stage.slurm ?? {};
  return { ...top, ...own, extra: [...(top.extra ?? []), ...(own.extra ?? [])] };
}

export interface JobPlace {
  run: string;
  root: string;
  logFile: string;
}

export function sbatchArgs(stage: Stage, options: SlurmOptions, place: JobPlace): string[] {
  const { cpu, gpu, mem } = stage.resources;
  return [
    `--job-name=${jobName(place.run, stage.name)}`,
    `--chdir=${place.root}`,
    `--output=${place.logFile}`,
    '--open-mode=truncate',
    '--export=ALL', // sbatch's own small environment (client.ts); the job script sets the stage's
    `--cpus-per-task=${cpu}`,
    ...(mem > 0 ? [`--mem=${Math.ceil(mem / 2 ** 20)}M`] : []),
    ...(gpu > 0 ? [`--gres=gpu:${gpu}`] : []),
    ...(options.partition ? [`--partition=${options.partition}`] : []),
    ...(options.account ? [`--account=${options.account}`] : []),
    ...(options.qos ? [`--qos=${options.qos}`] : []),
    ...(options.constraint ? [`--constraint=${options.constraint}`] : []),
    ...(options.time !== undefined ? [`--time=${options.time}`] : []),
    ...(options.extra ?? []),
  ];
}

/** What `squeue` shows: the run and the stage can be read from it. */
export function jobName(run: string, stage: string): string {
  return `pipe:${run}:${stage}`;
}
