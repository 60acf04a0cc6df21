/** The key of a stage: every input that, when it changes, must make the stage run again. */
import { digestBytes } from '../hash/index.js';
import { isGlob } from '../spec/paths.js';
import type { Stage } from '../spec/types.js';
import type { KeyParts } from '../state/records.js';
import { globSync } from '../util/lazy.js';
import { stableStringify } from '../util/stable-json.js';
import { absolute, type EngineContext } from './context.js';

export interface StageInputs {
  key: string;
  parts: KeyParts;
  /** deps that do not exist (and so cannot be hashed) */
  missing: string[];
}

export const MISSING = 'missing';
const NO_MATCH = 'no-match';

export async function stageInputs(
  ctx: EngineContext,
  stage: Stage,
  upstreamOutputs: Record<string, string>,
  fetchIdentity?: string,
  beforeRead?: (rel: string) => void,
): Promise<StageInputs> {
  const missing: string[] = [];
  const deps: Record<string, string> = Object.create(null); // a file may be named __proto__
  for (const dep of stage.deps) {
    const files = expandDep(ctx, dep, stage);
    if (files.length === 0) deps[dep] = NO_MATCH;
    for (const file of files) {
      const hash = await contentHash(ctx, file, beforeRead);
      deps[file] = hash;
      if (hash === MISSING) missing.push(file);
    }
  }
  const parts: KeyParts = {
    cmd: stage.cmd === undefined ? undefined : JSON.stringify(stage.cmd),
    fetch: fetchIdentity,
    params: stage.params,
    env: stage.env,
    deps,
    upstream: upstreamOutputs,
    outs: stage.outs,
  };
  return { key: digestBytes(keyText(parts)), parts, missing };
}

/** A glob dep never matches the stage's own outputs: they change every time it runs. */
function isOwnOutput(stage: Stage, file: string): boolean {
  return stage.outs.some((out) => file === out || file.startsWith(`${out}/`));
}

function expandDep(ctx: EngineContext, dep: string, stage: Stage): string[] {
  if (!isGlob(dep)) return [dep];
  const matches = globSync(dep, { cwd: ctx.project.root, onlyFiles: true, dot: false, ignore: ['.pipe/**'] });
  return matches.filter((file) => !isOwnOutput(stage, file)).sort();
}

/** Content hash of a project path through the stat cache; 'missing' when it does not exist. */
/** `beforeRead` is called only when content must be read (the stat cache could not answer), and may throw. */
export async function contentHash(ctx: EngineContext, rel: string, beforeRead?: (rel: string) => void): Promise<string> {
  const abs = absolute(ctx, rel);
  const cached = ctx.stats.peek(abs);
  if (!cached) beforeRead?.(rel);
  const h = cached ?? (await ctx.stats.hash(abs));
  return h.kind === 'missing' ? MISSING : h.hash;
}

/**
 * The text the key is the digest of. NUL separates the fields (no path, name or hash contains one);
 * maps are in sorted order, so the key does not depend on the order things were declared in.
 */
function keyText(p: KeyParts): string {
  let text = `k1\0c${p.cmd ?? ''}\0f${p.fetch ?? ''}\0p${stableStringify(p.params)}\0e${stableStringify(p.env)}`;
  for (const path of Object.keys(p.deps).sort()) text += `\0d${path}\0${p.deps[path]}`;
  for (const stage of Object.keys(p.upstream).sort()) text += `\0u${stage}\0${p.upstream[stage]}`;
  for (const out of p.outs ?? []) text += `\0o${out}`;
  return text;
}

/** What downstream keys see of a stage's outputs: equal outputs give an equal digest (early cutoff). */
export function outputDigest(outs: { path: string; kind: string; hash: string }[]): string {
  return digestBytes(stableStringify(outs.map((o) => [o.path, o.kind, o.hash])));
}
