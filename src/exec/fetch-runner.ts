/** Runs a fetch stage through src/fetch (whether it must run is the planner's: src/plan/fetch-freshness.ts). */
import { fetchContext, loadFetch } from '../plan/fetch-freshness.js';
import type { EngineContext } from '../plan/context.js';
import type { Reporter } from '../report/events.js';
import type { Stage } from '../pipeline/types.js';

export interface FetchRunContext {
  engine: EngineContext;
  offline: boolean;
  signal: AbortSignal;
  reporter: Reporter;
}

export async function runFetchStage(f: FetchRunContext, stage: Stage): Promise<string> {
  const fetch = await loadFetch();
  const ctx = await fetchContext(f.engine, { offline: f.offline, signal: f.signal });
  ctx.onProgress = (p) => f.reporter.progress({ type: 'progress', stage: stage.name, file: p.file, bytes: p.bytes, total: p.total, done: p.done });
  ctx.log = (line) => f.reporter.note(`${stage.name}: ${line}`);
  const result = await fetch.runFetch(stage.fetch!, ctx);
  return result.outputHash;
}
