/**
 * The rebuilder: compares a stage's recorded trace (key and output hashes) with now and decides whether it
 * is fresh, can be restored from the run-cache, or must run, keeping the reasons. It knows nothing of
 * scheduling.
 */
import type { Stage } from '../pipeline/types.js';
import type { OutputRecord, StageRecord } from '../state/records.js';
import type { RunCacheEntry } from '../state/stores.js';
import { absolute, type EngineContext } from './context.js';
import { explainChanges } from './reasons.js';
import type { StageInputs } from './inputs.js';

export type StageState = 'fresh' | 'stale' | 'never-run' | 'missing-outputs';

export type Decision =
  | { action: 'skip'; state: 'fresh'; reasons: string[]; outputHash: string }
  | { action: 'restore'; state: Exclude<StageState, 'fresh'>; reasons: string[]; from: RunCacheEntry }
  | { action: 'run'; state: Exclude<StageState, 'fresh'>; reasons: string[]; damaged?: OutputRecord };

export async function decide(ctx: EngineContext, stage: Stage, inputs: StageInputs, force: boolean): Promise<Decision> {
  const record = ctx.records.stage(stage.name);
  if (force) return { action: 'run', state: record ? 'stale' : 'never-run', reasons: ['forced (--force)'] };
  if (!record) return restoreOrRun(ctx, inputs, 'never-run', ['never run']);
  if (record.key !== inputs.key) return restoreOrRun(ctx, inputs, 'stale', explainChanges(record.parts, inputs.parts));
  const changed = await changedOutputs(ctx, record.outs);
  if (changed.length === 0) return { action: 'skip', state: 'fresh', reasons: ['up to date'], outputHash: record.outputHash };
  const state = changed.every((c) => c.missing) ? 'missing-outputs' : 'stale';
  return restoreOrRun(ctx, inputs, state, changed.map((c) => c.reason));
}

export const RESTORE_REASON = 'outputs for these inputs are in the cache';

async function restoreOrRun(ctx: EngineContext, inputs: StageInputs, state: Exclude<StageState, 'fresh'>, reasons: string[]): Promise<Decision> {
  const earlier = await ctx.runCache.get(inputs.key);
  if (!earlier) return { action: 'run', state, reasons };
  for (const out of earlier.outs) {
    const problem = await ctx.objects.problem(out);
    if (!problem) continue;
    if (problem.missing) return { action: 'run', state, reasons };
    // the builder drops the damaged object before running (this function itself only looks: status uses it too)
    return { action: 'run', state, reasons: [...reasons, `cached output ${out.path} ${problem.detail}; running the stage instead`], damaged: out };
  }
  return { action: 'restore', state, reasons: [...reasons, RESTORE_REASON], from: earlier };
}

interface ChangedOutput {
  reason: string;
  missing: boolean;
}

async function changedOutputs(ctx: EngineContext, outs: OutputRecord[]): Promise<ChangedOutput[]> {
  const changed: ChangedOutput[] = [];
  for (const out of outs) {
    const abs = absolute(ctx, out.path);
    const now = ctx.stats.peek(abs) ?? (await ctx.stats.hash(abs));
    if (now.kind === 'missing' && out.kind !== 'missing') changed.push({ reason: `output ${out.path} is missing`, missing: true });
    else if (now.hash !== out.hash || now.kind !== out.kind) changed.push({ reason: `output ${out.path} was modified`, missing: false });
  }
  return changed;
}

export function recordOf(stage: Stage, inputs: StageInputs, outs: OutputRecord[], outputHash: string, ms: number): StageRecord {
  return { name: stage.name, key: inputs.key, parts: inputs.parts, outs, outputHash, at: new Date().toISOString(), ms };
}
