/**
 * The CLI chooses and builds the runner of a run: the builder (src/exec/execute.ts) only calls it. The local
 * runner's capacity is this machine's: -j cores, its memory, the GPUs it has (counted only when a stage asks).
 */
import { totalmem } from 'node:os';
import path from 'node:path';
import { createLocalRunner } from '../exec/local-runner.js';
import { baseEnvironment } from '../exec/environment.js';
import type { StageRunner } from '../exec/runner.js';
import { ProcessRegistry } from '../state/recover.js';
import type { Project } from '../project.js';
import { detectGpus } from './gpus.js';

export interface RunnerChoice {
  project: Project;
  order: string[];
  jobs: number;
}

export function buildLocalRunner({ project, order, jobs }: RunnerChoice): StageRunner {
  const registry = new ProcessRegistry(project.stateDir);
  const strategy = process.env.PIPE_LOCAL_STRATEGY === 'spawn' ? 'spawn' : 'shell-pool';
  return createLocalRunner({
    root: project.root,
    baseEnv: baseEnvironment(project.pipeline),
    scratchDir: path.join(project.stateDir, 'logs'),
    capacity: { cpu: jobs, gpu: needsGpu(project, order) ? detectGpus() : 0, mem: totalmem() },
    registry: { add: (pgid) => registry.add(pgid, 'shell worker'), remove: (pgid) => registry.remove(pgid) },
    strategy,
  });
}

function needsGpu(project: Project, order: string[]): boolean {
  return order.some((n) => (project.stages.get(n)?.resources.gpu ?? 0) > 0);
}
