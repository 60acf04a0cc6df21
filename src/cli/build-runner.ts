/**
 * The CLI chooses and builds the runner of a run: the builder (src/exec/execute.ts) only calls it. The local
 * runner's capacity is this machine's: -j cores, its memory, the GPUs it has (counted only when a stage asks).
 * With `--executor slurm` (or `executor: slurm`) command stages go to the Slurm runner, whose capacity is
 * jobs in flight (-j, default 100); fetch stages, `bootstrap:*` stages and stages with `executor: local`
 * stay on this machine.
 */
import { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import { createLocalRunner } from '../exec/local-runner.js';
import { baseEnvironment } from '../exec/environment.js';
import type { StageRunner } from '../exec/runner.js';
import { slurmClient } from '../exec/slurm/client.js';
import { SlurmRunner } from '../exec/slurm/runner.js';
import type { Executor, Stage } from '../pipeline/types.js';
import type { Reporter } from '../report/events.js';
import { ProcessRegistry } from '../state/recover.js';
import type { Project } from '../project.js';
import { UserError } from '../util/errors.js';
import { detectGpus } from './gpus.js';

export interface RunnerChoice {
  project: Project;
  order: string[];
  /** -j as given, else undefined */
  jobs?: number;
  /** --executor as given */
  executor?: string;
  cancelOrphans?: boolean;
  reporter: Reporter;
  signal?: AbortSignal;
}

const DEFAULT_SLURM_JOBS = 100;

export async function buildRunner(choice: RunnerChoice): Promise<StageRunner> {
  const { project, order } = choice;
  const executor = runExecutor(project, choice.executor);
  const local = buildLocalRunner(project, order, choice.jobs ?? availableParallelism());
  const slurmStages = order.filter((n) => executorOf(project.stages.get(n)!, executor) === 'slurm');
  if (slurmStages.length === 0 && !choice.cancelOrphans) return local;
  const slurm = new SlurmRunner({
    pipeline: project.pipeline,
    stateDir: project.stateDir,
    jobs: choice.jobs ?? DEFAULT_SLURM_JOBS,
    client: slurmClient(),
    events: {
      job: (stage, job, state, text, node) => choice.reporter.job?.({ type: 'job', stage, job, state, text, ...(node ? { node } : {}) }),
      note: (text) => choice.reporter.note(text),
    },
  });
  await slurm.recoverOrphans(!!choice.cancelOrphans, choice.signal);
  return {
    name: 'slurm',
    capacity: slurm.capacity,
    route: (stage) => (executorOf(stage, executor) === 'slurm' ? slurm : local),
    run: (job) => slurm.run(job),
    close: async () => {
      await local.close?.();
      await slurm.close();
    },
  };
}

/** --executor, else the pipeline's `executor:`, else local. */
function runExecutor(project: Project, flag: string | undefined): Executor {
  if (flag === undefined) return project.pipeline.executor ?? 'local';
  if (flag !== 'local' && flag !== 'slurm') throw new UserError(`--executor ${flag}: expected local or slurm`);
  return flag;
}

/** A stage's own `executor:` wins; fetch and bootstrap stages need this machine's network and caches. */
export function executorOf(stage: Stage, run: Executor): Executor {
  if (stage.executor) return stage.executor;
  if (stage.fetch || stage.name.startsWith('bootstrap:')) return 'local';
  return run;
}

export function buildLocalRunner(project: Project, order: string[], jobs: number): StageRunner {
  const registry = new ProcessRegistry(project.stateDir);
  const strategy = process.env.PIPE_LOCAL_STRATEGY === 'spawn' ? 'spawn' : 'shell-pool';
  const runner = createLocalRunner({
    root: project.root,
    baseEnv: baseEnvironment(project.pipeline),
    scratchDir: path.join(project.stateDir, 'logs'),
    capacity: { cpu: jobs, gpu: needsGpu(project, order) ? detectGpus() : 0, mem: totalmem() },
    registry: { add: (pgid) => registry.add(pgid, 'shell worker'), remove: (pgid) => registry.remove(pgid) },
    strategy,
  });
  return {
    ...runner,
    close: async () => {
      await runner.close?.();
      registry.close();
    },
  };
}

function needsGpu(project: Project, order: string[]): boolean {
  return order.some((n) => (project.stages.get(n)?.resources.gpu ?? 0) > 0);
}
