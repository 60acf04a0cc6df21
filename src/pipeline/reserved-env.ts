/**
 * The environment variables pipe itself gives every stage, and what a pipeline declares instead of setting
 * them in `env`: a cache variable set in `env` would silently lose to the `cache:` root (or win over it, and
 * then the downloads of the fetch stages would land where the stage does not look).
 */

/** The model cache roots of `cache:`, and the variables each one becomes. */
export const MODEL_ROOT_VARIABLES = {
  hf_home: ['HF_HOME', 'TRANSFORMERS_CACHE', 'HF_HUB_CACHE'],
  torch_home: ['TORCH_HOME'],
  mlx_home: ['MLX_CACHE_DIR'],
} as const;

export type ModelRootName = keyof typeof MODEL_ROOT_VARIABLES;
export const MODEL_ROOT_NAMES = Object.keys(MODEL_ROOT_VARIABLES) as ModelRootName[];

/** An application cache `cache: {apps: {tmdb: …}}` reaches every stage as PIPE_CACHE_TMDB. */
export const APP_CACHE_PREFIX = 'PIPE_CACHE_';
export const APP_CACHE_NAME = /^[a-z][a-z0-9_]*$/;

export function appCacheVariable(name: string): string {
  return APP_CACHE_PREFIX + name.toUpperCase();
}

/** What a stage is told of its `resources` (see src/exec/environment.ts). */
export const RESOURCE_VARIABLES = { PIPE_CPUS: 'resources.cpu', PIPE_GPUS: 'resources.gpu', PIPE_MEM: 'resources.mem' } as const;

/** Thread counts of OpenMP, MKL, OpenBLAS, numexpr and Accelerate: default to the stage's cpus, `env` may set them. */
export const THREAD_VARIABLES = ['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'NUMEXPR_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'] as const;

const PIPE_OWN = { PIPE_STAGE: 'the stage name', PIPE_JOB: 'the foreach job', PIPE_ROOT: 'the project root' } as const;

/** Why `name` may not be set in an `env:` map, or undefined when it may. */
export function reservedVariableProblem(name: string): string | undefined {
  for (const root of MODEL_ROOT_NAMES) {
    if ((MODEL_ROOT_VARIABLES[root] as readonly string[]).includes(name)) {
      return `${name} is set by pipe from the cache roots; declare \`cache: {${root}: PATH}\` instead of setting it in env`;
    }
  }
  if (name.startsWith(APP_CACHE_PREFIX)) {
    const app = name.slice(APP_CACHE_PREFIX.length).toLowerCase() || 'NAME';
    return `${name} is set by pipe for an application cache; declare \`cache: {apps: {${app}: PATH}}\` instead of setting it in env`;
  }
  if (name in RESOURCE_VARIABLES) {
    return `${name} is set by pipe from the stage's ${RESOURCE_VARIABLES[name as keyof typeof RESOURCE_VARIABLES]}; declare \`resources:\` instead of setting it in env`;
  }
  if (name in PIPE_OWN) return `${name} is set by pipe (${PIPE_OWN[name as keyof typeof PIPE_OWN]}); it cannot be set in env`;
  return undefined;
}
