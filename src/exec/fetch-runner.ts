/** Fetch stages: freshness from the cache on disk (no request), downloads through src/fetch. */
import path from 'node:path';
import type { Decision } from '../plan/decide.js';
import { stageInputs, type StageInputs } from '../plan/inputs.js';
import type { EngineContext } from '../plan/context.js';
import { explainChanges } from '../plan/reasons.js';
import type { Reporter } from '../report/events.js';
import type { Stage } from '../pipeline/types.js';

export interface FetchRunContext {
  engine: EngineContext;
  offline: boolean;
  signal: AbortSignal;
  reporter: Reporter;
}

type FetchModule = typeof import('../fetch/index.js');
let fetchModule: Promise<FetchModule> | undefined;
const loadFetch = () => (fetchModule ??= import('../fetch/index.js'));

export async function fetchDecision(
  f: FetchRunContext,
  stage: Stage,
  upstream: Record<string, string>,
  force: boolean,
): Promise<{ inputs: StageInputs; decision: Decision }> {
  const fetch = await loadFetch();
  const inputs = await stageInputs(f.engine, stage, upstream, fetch.fetchIdentity(stage.fetch!));
  const record = f.engine.records.stage(stage.name);
  if (force) return { inputs, decision: { action: 'run', state: record ? 'stale' : 'never-run', reasons: ['forced (--force)'] } };
  const check = await fetch.checkFetched(stage.fetch!, await context(f, stage));
  if (record && record.key !== inputs.key) {
    return { inputs, decision: { action: 'run', state: 'stale', reasons: explainChanges(record.parts, inputs.parts) } };
  }
  if (check.fresh) return { inputs, decision: { action: 'skip', state: 'fresh', reasons: ['cached and verified'], outputHash: check.outputHash } };
  return { inputs, decision: { action: 'run', state: record ? 'missing-outputs' : 'never-run', reasons: [check.reason] } };
}

export async function runFetchStage(f: FetchRunContext, stage: Stage): Promise<string> {
  const fetch = await loadFetch();
  const result = await fetch.runFetch(stage.fetch!, await context(f, stage));
  return result.outputHash;
}

async function context(f: FetchRunContext, stage: Stage) {
  const fetch = await loadFetch();
  const { root, pipeline } = f.engine.project;
  const ctx = fetch.resolveFetchContext(root, path.join(pipeline.cache.hfHome, 'hub'), pipeline.cache.torchHome, { offline: f.offline, signal: f.signal });
  ctx.onProgress = (p) => f.reporter.progress({ type: 'progress', stage: stage.name, file: p.file, bytes: p.bytes, total: p.total, done: p.done });
  ctx.log = (line) => f.reporter.note(`${stage.name}: ${line}`);
  return ctx;
}
