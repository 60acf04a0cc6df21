/**
 * The environment part of a stage's key: every variable pipe sets for the stage's process (the same ones as
 * stageVariables in src/exec/environment.ts: the pipeline's env, the stage's env, the cache roots (model and
 * application caches), the resource variables (PIPE_CPUS, OMP_NUM_THREADS, ...), PIPE_STAGE, PIPE_JOB,
 * HF_HUB_OFFLINE), never the user's ambient shell environment.
 *
 * A cache root outside the project (under allow_outside, e.g. /scratch/hf) enters as its absolute path: two
 * machines share keys when they mount the team's cache at the same place.
 *
 * Values under the project root are written relative to it (`${PIPE_ROOT}/.cache/hf`) and PIPE_ROOT itself is
 * left out: a moved or cloned project keeps its keys, as its project-relative deps do (the team cache relies
 * on that). A secret-named value enters as a fingerprint, so records never hold it.
 */
import { cacheVariables, isSecretName, resourceVariables } from '../exec/environment.js';
import { digestBytes } from '../hash/index.js';
import type { Pipeline, Stage } from '../pipeline/types.js';
import { stableStringify } from '../util/stable-json.js';

export interface KeyedEnvironment {
  /** what the stage's process sees, as keyed (for records and explain) */
  vars: Record<string, string>;
  /** the text the key takes in: a digest of the shared part (computed once per pipeline) and the stage's own part */
  keyText: string;
}

interface SharedPart {
  pipelineEnv: Record<string, string>;
  cacheRoots: Record<string, string>;
  /** both, for a stage that overrides neither */
  all: Record<string, string>;
  digest: string;
}

const ROOT_MARK = '${PIPE_ROOT}';
const sharedParts = new WeakMap<Pipeline, SharedPart>();

export function keyedEnvironment(pipeline: Pipeline, stage: Stage, fetchStages: ReadonlySet<string>): KeyedEnvironment {
  const shared = sharedPart(pipeline);
  const own = keyedValues(pipeline.root, stage.env);
  const offline = stage.needs.some((n) => fetchStages.has(n));
  const overrides = overridesShared(own, shared);
  const vars = overrides ? merged(shared, own) : disjointUnion(shared.all, own);
  resourceVariables(stage, vars, vars); // written in place: this runs for every stage of a no-op
  vars.PIPE_STAGE = stage.name;
  if (stage.job) vars.PIPE_JOB = stage.job;
  if (offline) vars.HF_HUB_OFFLINE = '1';
  // a stage that overrides a shared variable does not see the shared value: key exactly what it sees
  if (overrides) return { vars, keyText: `=${stableStringify(vars)}` };
  const ownText = Object.keys(own).length === 0 ? '{}' : stableStringify(own);
  // the resource variables follow from the declaration and the env already keyed
  const declared = `${stage.resources.cpu}/${stage.resources.gpu}/${stage.resources.mem}`;
  return { vars, keyText: `${shared.digest}\0${ownText}\0${stage.name}\0${stage.job ?? ''}\0${offline ? 'offline' : ''}\0${declared}` };
}

/** A plain copy loop: a spread of several objects costs ~20x more, and this runs for every stage of a no-op. */
function disjointUnion(a: Record<string, string>, b: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const name in a) vars[name] = a[name]!;
  for (const name in b) vars[name] = b[name]!;
  return vars;
}

/** The same precedence as stageVariables: a stage's env overrides the pipeline's, pipe's own variables override both. */
function merged(shared: SharedPart, own: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = { ...shared.pipelineEnv, ...own, ...shared.cacheRoots };
  delete vars.PIPE_ROOT;
  return vars;
}

/** Whether the stage's env names a variable the shared part or pipe itself also sets. */
function overridesShared(own: Record<string, string>, shared: SharedPart): boolean {
  for (const name in own) {
    if (name in shared.pipelineEnv || name in shared.cacheRoots || name.startsWith('PIPE_') || name === 'HF_HUB_OFFLINE') return true;
  }
  return false;
}

function sharedPart(pipeline: Pipeline): SharedPart {
  let part = sharedParts.get(pipeline);
  if (!part) {
    const pipelineEnv = keyedValues(pipeline.root, pipeline.env);
    const cacheRoots = keyedValues(pipeline.root, cacheVariables(pipeline));
    part = { pipelineEnv, cacheRoots, all: { ...pipelineEnv, ...cacheRoots }, digest: digestBytes(stableStringify([pipelineEnv, cacheRoots])) };
    sharedParts.set(pipeline, part);
  }
  return part;
}

function keyedValues(root: string, vars: Record<string, string>): Record<string, string> {
  const keyed: Record<string, string> = {};
  for (const name of Object.keys(vars)) keyed[name] = keyedValue(root, name, vars[name]!);
  return keyed;
}

function keyedValue(root: string, name: string, value: string): string {
  if (isSecretName(name)) return secretFingerprint(name, value);
  if (value === root) return ROOT_MARK;
  return value.startsWith(root + '/') ? ROOT_MARK + value.slice(root.length) : value;
}

const SECRET_PREFIX = 'secret:';

/** Enough to tell that a secret changed, not to recover it. */
function secretFingerprint(name: string, value: string): string {
  return SECRET_PREFIX + digestBytes(`pipe-secret\0${name}\0${value}`).slice(0, 16);
}

export function isSecretFingerprint(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(SECRET_PREFIX);
}
