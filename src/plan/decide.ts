/**
 * The rebuilder's test for one stage: compares its recorded trace (key and output hashes) with now and
 * decides whether it is fresh, can be restored from the run-cache, or must run, keeping the reasons. It only
 * looks: it changes nothing and knows nothing of scheduling.
 */
import type { Reason, StageState } from '../report/events.js';
import type { Stage } from '../pipeline/types.js';
import type { OutputRecord, StageRecord } from '../state/records.js';
import type { RunCacheEntry } from '../state/stores.js';
import { absolute, type EngineContext } from './context.js';
import { explainChanges } from './reasons.js';
import type { StageInputs } from './inputs.js';

export type { StageState };
export type StaleState = Exclude<StageState, 'fresh'>;

export type Decision =
  | { action: 'skip'; state: 'fresh'; reasons: Reason[]; outputHash: string }
  | { action: 'restore'; state: StaleState; reasons: Reason[]; from: RunCacheEntry }
  | { action: 'run'; state: StaleState; reasons: Reason[]; damaged?: OutputRecord };

export const IN_CACHE: Reason = { kind: 'in-cache' };
const ALWAYS_CHANGED: Reason = { kind: 'always-changed' };

export async function decide(ctx: EngineContext, stage: Stage, inputs: StageInputs, force: boolean): Promise<Decision> {
  const record = ctx.records.stage(stage.name);
  if (force) return forced(record !== undefined);
  if (stage.alwaysChanged) return { action: 'run', state: record ? 'stale' : 'never-run', reasons: [ALWAYS_CHANGED] };
  if (!record) return restoreOrRun(ctx, inputs, 'never-run', [{ kind: 'never-run' }]);
  if (record.key !== inputs.key) return restoreOrRun(ctx, inputs, 'stale', explainChanges(record.parts, inputs.parts));
  const changed = await changedOutputs(ctx, record.outs);
  if (changed.length === 0) return { action: 'skip', state: 'fresh', reasons: [{ kind: 'up-to-date' }], outputHash: record.outputHash };
  const state = changed.every((c) => c.kind === 'output-missing') ? 'missing-outputs' : 'stale';
  return restoreOrRun(ctx, inputs, state, changed);
}

export function forced(recorded: boolean): Decision {
  return { action: 'run', state: recorded ? 'stale' : 'never-run', reasons: [{ kind: 'forced' }] };
}

/** Restores the outputs the run-cache holds for these inputs when every one is there and intact; else runs. */
export async function restoreOrRun(ctx: EngineContext, inputs: StageInputs, state: StaleState, reasons: Reason[]): Promise<Decision> {
  const earlier = await ctx.runCache.get(inputs.key);
  if (!earlier) return { action: 'run', state, reasons };
  for (const out of earlier.outs) {
    const problem = await ctx.objects.problem(out);
    if (!problem) continue;
    if (problem.missing) return { action: 'run', state, reasons };
    // the builder drops the damaged object before running (this function itself only looks: status uses it too)
    return { action: 'run', state, reasons: [...reasons, { kind: 'cache-unusable', subject: out.path, detail: problem.detail }], damaged: out };
  }
  return { action: 'restore', state, reasons: [...reasons, IN_CACHE], from: earlier };
}

async function changedOutputs(ctx: EngineContext, outs: OutputRecord[]): Promise<Reason[]> {
  const changed: Reason[] = [];
  for (const out of outs) {
    const abs = absolute(ctx, out.path);
    const now = ctx.stats.peek(abs) ?? (await ctx.stats.hash(abs));
    if (now.kind === 'missing' && out.kind !== 'missing') changed.push({ kind: 'output-missing', subject: out.path });
    else if (now.hash !== out.hash || now.kind !== out.kind) changed.push({ kind: 'output-modified', subject: out.path });
  }
  return changed;
}

export function recordOf(stage: Stage, inputs: StageInputs, outs: OutputRecord[], outputHash: string, ms: number): StageRecord {
  return { name: stage.name, key: inputs.key, parts: inputs.parts, outs, outputHash, at: new Date().toISOString(), ms };
}
