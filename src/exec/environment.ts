/**
 * The environment manager: every stage gets the same cache variables, whatever starts it, and is told its
 * share of the machine (its declared `resources`).
 */
import path from 'node:path';
import { appCacheVariable, THREAD_VARIABLES } from '../pipeline/reserved-env.js';
import type { Pipeline, Stage } from '../pipeline/types.js';

/** Variables that never reach a stage's printed environment (they may hold secrets). */
const SECRET_NAMES = /TOKEN|SECRET|PASSWORD|API_KEY/i;

export function cacheVariables(pipeline: Pipeline): Record<string, string> {
  const { hfHome, torchHome, mlxHome, apps } = pipeline.cache;
  const vars: Record<string, string> = {
    HF_HOME: hfHome,
    HF_HUB_CACHE: path.join(hfHome, 'hub'),
    TRANSFORMERS_CACHE: hfHome,
    TORCH_HOME: torchHome,
    MLX_CACHE_DIR: mlxHome,
  };
  for (const name of Object.keys(apps)) vars[appCacheVariable(name)] = apps[name]!;
  return vars;
}

/**
 * The stage's declared resources: PIPE_CPUS, PIPE_GPUS, PIPE_MEM (bytes, when declared), and the thread
 * counts numeric libraries read, unless `env` (the pipeline's or the stage's) sets them. The declaration,
 * not what the scheduler clamps it to under a small -j, so the environment (and the key) does not depend on -j.
 * pipe counts GPUs but does not assign them, so CUDA_VISIBLE_DEVICES is left alone.
 */
export function resourceVariables(stage: Pick<Stage, 'resources'>, env: Readonly<Record<string, string>>, into: Record<string, string> = {}): Record<string, string> {
  const cpus = String(stage.resources.cpu);
  for (const name of THREAD_VARIABLES) if (!(name in env)) into[name] = cpus;
  into.PIPE_CPUS = cpus;
  into.PIPE_GPUS = String(stage.resources.gpu);
  if (stage.resources.mem > 0) into.PIPE_MEM = String(stage.resources.mem);
  return into;
}

/** What pipe sets for the stage, on top of the inherited environment. */
export function stageVariables(pipeline: Pipeline, stage: Stage, fetchStages: ReadonlySet<string>): Record<string, string> {
  const declared = { ...pipeline.env, ...stage.env };
  const vars: Record<string, string> = {
    ...resourceVariables(stage, declared),
    ...declared,
    ...cacheVariables(pipeline),
    PIPE_STAGE: stage.name,
    PIPE_ROOT: pipeline.root,
  };
  if (stage.job) vars.PIPE_JOB = stage.job;
  if (stage.needs.some((n) => fetchStages.has(n))) vars.HF_HUB_OFFLINE = '1';
  return vars;
}

/** The full environment of the stage process: what pipe was started with, plus the stage's variables. */
export function stageEnvironment(pipeline: Pipeline, stage: Stage, fetchStages: ReadonlySet<string>): NodeJS.ProcessEnv {
  const env = Object.assign(Object.create(null) as NodeJS.ProcessEnv, inherited());
  return Object.assign(env, stageVariables(pipeline, stage, fetchStages));
}

/**
 * What most stages of the pipeline share: the inherited environment, the pipeline-wide variables, and those
 * of a stage that declares no resources (one cpu). A worker started with it has a stage pass only what differs.
 */
export function baseEnvironment(pipeline: Pipeline): NodeJS.ProcessEnv {
  const oneCpu = resourceVariables({ resources: { cpu: 1, gpu: 0, mem: 0 } }, pipeline.env);
  return { ...inherited(), ...oneCpu, ...pipeline.env, ...cacheVariables(pipeline), PIPE_ROOT: pipeline.root };
}

let inheritedEnv: NodeJS.ProcessEnv | undefined;

/** process.env is an accessor object, slow to copy; take one plain copy per run. */
function inherited(): NodeJS.ProcessEnv {
  return (inheritedEnv ??= { ...process.env });
}

export function isSecretName(name: string): boolean {
  return SECRET_NAMES.test(name);
}
