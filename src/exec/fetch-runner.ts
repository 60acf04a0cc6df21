/**
 * Runs a fetch stage through src/fetch (whether it must run is the planner's: src/plan/fetch-freshness.ts).
 * With a team cache, a model snapshot shared under the stage's key is restored from it first (the hub is
 * not asked); one fetched from the hub is shared in the background.
 */
import { fetchContext, loadFetch } from '../plan/fetch-freshness.js';
import type { EngineContext } from '../plan/context.js';
import type { Reporter } from '../report/events.js';
import type { Stage } from '../pipeline/types.js';
import type { FetchContext } from '../fetch/index.js';

export interface FetchRunContext {
  engine: EngineContext;
  offline: boolean;
  signal: AbortSignal;
  reporter: Reporter;
}

export interface FetchOutcome {
  outputHash: string;
  from?: 'remote';
}

/** `sharedOnly`: take the snapshot from the team cache or not at all (pull); undefined when it has none. */
export async function runFetchStage(f: FetchRunContext, stage: Stage, key: string, opts: { sharedOnly?: boolean } = {}): Promise<FetchOutcome | undefined> {
  const fetch = await loadFetch();
  const ctx = await fetchContext(f.engine, { offline: f.offline, signal: f.signal });
  ctx.onProgress = (p) => f.reporter.progress({ type: 'progress', stage: stage.name, file: p.file, bytes: p.bytes, total: p.total, done: p.done });
  ctx.log = (line) => f.reporter.note(`${stage.name}: ${line}`);
  const restored = await restoreShared(f, stage, key, ctx);
  if (restored || opts.sharedOnly) return restored;
  const result = await fetch.runFetch(stage.fetch!, ctx);
  const snapshots = f.engine.snapshots;
  const shared = snapshots && (await fetch.sharedSnapshot(stage.fetch!, ctx));
  if (snapshots && shared) snapshots.put(key, shared.snapshot, shared.blobOf);
  return { outputHash: result.outputHash };
}

/** The snapshot from the team cache, verified into the model cache; a fault or a mismatch is said and the hub is used. */
async function restoreShared(f: FetchRunContext, stage: Stage, key: string, ctx: FetchContext): Promise<FetchOutcome | undefined> {
  const snapshots = f.engine.snapshots;
  if (!snapshots || f.offline) return undefined; // --offline: no request at all, the team cache's included
  const shared = await snapshots.get(key);
  if (!shared) return undefined;
  const fetch = await loadFetch();
  try {
    const result = await fetch.restoreSharedSnapshot(stage.fetch!, ctx, shared, (file, dest, onBytes) => snapshots.download(key, file, dest, onBytes));
    return result && { outputHash: result.outputHash, from: 'remote' };
  } catch (err) {
    if (f.signal.aborted) throw err;
    f.reporter.note(`pipe: ${stage.name}: could not restore the snapshot from the team cache (${err instanceof Error ? err.message : String(err)})`);
    return undefined;
  }
}
