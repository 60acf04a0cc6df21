/** The key of a stage: every input that, when it changes, must make the stage run again. */
import { digestBytes, type PathHash } from '../hash/index.js';
import { isGlob } from '../pipeline/paths.js';
import type { Stage } from '../pipeline/types.js';
import type { KeyParts } from '../state/records.js';
import { globSync } from '../util/lazy.js';
import { stableStringify } from '../util/stable-json.js';
import { absolute, type EngineContext } from './context.js';
import { keyedEnvironment } from './environment-key.js';
import { appCacheFolders } from '../pipeline/cache-clashes.js';

export interface StageInputs {
  key: string;
  parts: KeyParts;
  /** deps that do not exist (and so cannot be hashed) */
  missing: string[];
}

/** The value a dep will have once the planned restores are done, when that is known without reading it. */
export type KnownDeps = (file: string) => string | undefined;

export const MISSING = 'missing';
const NO_MATCH = 'no-match';
/**
 * The key format, recorded in each record's parts. Bumping it makes every stage run once after an upgrade,
 * and lets explain say so instead of listing parts an older pipe recorded differently.
 * 2: the whole environment pipe sets, exec bits of file deps, cwd and network.
 * 3: the resource variables (PIPE_CPUS, OMP_NUM_THREADS, ...) and the application caches (PIPE_CACHE_*).
 */
export const KEY_FORMAT = 3;
/** Appended to a file dep's hash when the file is executable: a script that becomes executable is a change. */
export const EXECUTABLE_MARK = '+x';

export async function stageInputs(
  ctx: EngineContext,
  stage: Stage,
  upstreamOutputs: Record<string, string>,
  fetchIdentity?: string,
  beforeRead?: (rel: string) => void,
  known?: KnownDeps,
): Promise<StageInputs> {
  const missing: string[] = [];
  const deps: Record<string, string> = Object.create(null); // a file may be named __proto__
  for (const dep of stage.deps) {
    const files = expandDep(ctx, dep, stage);
    if (files.length === 0) deps[dep] = NO_MATCH;
    for (const file of files) {
      const value = known?.(file) ?? (await depValue(ctx, file, beforeRead));
      deps[file] = value;
      if (value === MISSING) missing.push(file);
    }
  }
  const env = keyedEnvironment(ctx.project.pipeline, stage, ctx.fetchStages);
  const parts: KeyParts = {
    format: KEY_FORMAT,
    cmd: stage.cmd === undefined ? undefined : JSON.stringify(stage.cmd),
    fetch: fetchIdentity,
    params: stage.params,
    env: env.vars,
    deps,
    upstream: upstreamOutputs,
    outs: stage.outs,
    ...(stage.cwd !== undefined ? { cwd: stage.cwd } : {}),
    ...(stage.network === false ? { network: false } : {}),
  };
  return { key: digestBytes(keyText(parts, env.keyText)), parts, missing };
}

/** A glob dep never matches the stage's own outputs (they change every time it runs), nor files in an application cache. */
function isOwnOutput(stage: Stage, file: string): boolean {
  return stage.outs.some((out) => file === out || file.startsWith(`${out}/`));
}

function expandDep(ctx: EngineContext, dep: string, stage: Stage): string[] {
  if (!isGlob(dep)) return [dep];
  const matches = globSync(dep, { cwd: ctx.project.root, onlyFiles: true, dot: false, ignore: ['.pipe/**'] });
  const caches = appCacheFolders(ctx.project.pipeline);
  return matches.filter((file) => !isOwnOutput(stage, file) && !caches.some((dir) => file.startsWith(`${dir}/`))).sort();
}

/** Content hash of a project path through the stat cache; 'missing' when it does not exist. */
/** `beforeRead` is called only when content must be read (the stat cache could not answer), and may throw. */
export async function contentHash(ctx: EngineContext, rel: string, beforeRead?: (rel: string) => void): Promise<string> {
  const h = await pathHash(ctx, rel, beforeRead);
  return h.kind === 'missing' ? MISSING : h.hash;
}

/** A dep as its key sees it: the content hash, marked when a file is executable (a folder's hash covers its files' bits). */
async function depValue(ctx: EngineContext, rel: string, beforeRead?: (rel: string) => void): Promise<string> {
  const h = await pathHash(ctx, rel, beforeRead);
  if (h.kind === 'missing') return MISSING;
  return h.kind === 'file' && h.exec ? h.hash + EXECUTABLE_MARK : h.hash;
}

async function pathHash(ctx: EngineContext, rel: string, beforeRead?: (rel: string) => void): Promise<PathHash> {
  const abs = absolute(ctx, rel);
  const cached = ctx.stats.peek(abs);
  if (!cached) beforeRead?.(rel);
  return cached ?? (await ctx.stats.hash(abs));
}

/**
 * The text the key is the digest of. NUL separates the fields (no path, name or hash contains one);
 * maps are in sorted order, so the key does not depend on the order things were declared in.
 * `envText` stands for p.env (see keyedEnvironment): it digests the part every stage shares once per run.
 */
function keyText(p: KeyParts, envText: string): string {
  let text = `k${KEY_FORMAT}\0c${p.cmd ?? ''}\0f${p.fetch ?? ''}\0p${stableStringify(p.params)}\0e${envText}`;
  text += `\0w${p.cwd ?? ''}\0n${p.network === false ? 'off' : ''}`;
  for (const path of Object.keys(p.deps).sort()) text += `\0d${path}\0${p.deps[path]}`;
  for (const stage of Object.keys(p.upstream).sort()) text += `\0u${stage}\0${p.upstream[stage]}`;
  for (const out of p.outs ?? []) text += `\0o${out}`;
  return text;
}

/** What downstream keys see of a stage's outputs: equal outputs give an equal digest (early cutoff). */
export function outputDigest(outs: { path: string; kind: string; hash: string }[]): string {
  return digestBytes(stableStringify(outs.map((o) => [o.path, o.kind, o.hash])));
}
