/** Keeping what a stage left: its outputs into the object store, its record, the run-cache entry; saving it all. */
import path from 'node:path';
import { absolute, type EngineContext } from '../plan/context.js';
import type { Stage } from '../pipeline/types.js';
import type { OutputRecord, StageRecord } from '../state/records.js';
import { StorageError, isStorageFailure } from '../util/errors.js';

/** Hashes each declared output and keeps it in the object store (it can then be restored). */
export async function storeOutputs(ctx: EngineContext, stage: Stage): Promise<OutputRecord[]> {
  const outs: OutputRecord[] = [];
  for (const out of stage.outs) {
    const abs = absolute(ctx, out);
    const h = await ctx.stats.hash(abs);
    await ctx.objects.put(abs, h, out);
    outs.push({ path: out, kind: h.kind, hash: h.hash, size: h.size, ...(h.exec ? { exec: true } : {}) });
  }
  return outs;
}

/** The stage's record, and its outputs in the run-cache under its key. */
export async function remember(ctx: EngineContext, rec: StageRecord): Promise<void> {
  ctx.records.record(rec);
  await ctx.runCache.put({ key: rec.key, outs: rec.outs, outputHash: rec.outputHash });
}

/** Records first (they are the state); the caches after, each failure said with the file it concerns. */
export function saveState(ctx: EngineContext): void {
  ctx.records.close();
  ctx.local.runs.close();
  ctx.local.objects.save();
  try {
    ctx.stats.save();
  } catch (err) {
    if (isStorageFailure(err)) throw new StorageError(`could not save the stat cache ${path.relative(process.cwd(), path.join(ctx.project.stateDir, 'stat-cache'))}`, err);
    throw err;
  }
}
