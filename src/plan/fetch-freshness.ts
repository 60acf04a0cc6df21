/** Whether a fetch stage is fresh: its key against its record, and the cache on disk (no request). */
import path from 'node:path';
import type { Stage } from '../pipeline/types.js';
import type { FetchContext } from '../fetch/index.js';
import { forced, type Decision } from './decide.js';
import { stageInputs, type StageInputs } from './inputs.js';
import type { EngineContext } from './context.js';
import { explainChanges } from './reasons.js';

type FetchModule = typeof import('../fetch/index.js');
let fetchModule: Promise<FetchModule> | undefined;
/** src/fetch is loaded only by a pipeline that has fetch stages */
export const loadFetch = (): Promise<FetchModule> => (fetchModule ??= import('../fetch/index.js'));

export async function fetchDecision(
  ctx: EngineContext,
  stage: Stage,
  upstream: Record<string, string>,
  force: boolean,
  offline: boolean,
): Promise<{ inputs: StageInputs; decision: Decision }> {
  const fetch = await loadFetch();
  const inputs = await stageInputs(ctx, stage, upstream, fetch.fetchIdentity(stage.fetch!));
  const record = ctx.records.stage(stage.name);
  if (force) return { inputs, decision: forced(record !== undefined) };
  if (record && record.key !== inputs.key) return { inputs, decision: { action: 'run', state: 'stale', reasons: explainChanges(record.parts, inputs.parts) } };
  const check = await fetch.checkFetched(stage.fetch!, await fetchContext(ctx, { offline, signal: new AbortController().signal }));
  if (check.fresh) return { inputs, decision: { action: 'skip', state: 'fresh', reasons: [{ kind: 'fetch-verified' }], outputHash: check.outputHash } };
  return { inputs, decision: { action: 'run', state: record ? 'missing-outputs' : 'never-run', reasons: [{ kind: 'fetch-not-cached', detail: check.reason }] } };
}

/** Where a fetch stage's content lives (the cache roots of the pipeline), for checking and for downloading. */
export async function fetchContext(ctx: EngineContext, opts: { offline: boolean; signal: AbortSignal }): Promise<FetchContext> {
  const fetch = await loadFetch();
  const { root, pipeline } = ctx.project;
  return fetch.resolveFetchContext(root, path.join(pipeline.cache.hfHome, 'hub'), pipeline.cache.torchHome, opts);
}
