/**
 * The whole-graph planner: given the graph, the records and the filesystem, a decision per stage (fresh,
 * restore from the run-cache, run, fail, not run) with its reasons as data. It walks the stages in
 * dependency order carrying forward what each will leave behind: a stage that will be restored leaves its
 * recorded outputs (so what is downstream of it is judged against those), one that will run leaves
 * something not yet known (so what is downstream of it will run after it, or be re-planned by the builder
 * once it has). `run -n`, `status`, `explain` and `graph --status` print the plan; `run` executes it.
 * Planning only looks: it writes nothing.
 */
import type { Reason, StageState } from '../report/events.js';
import type { Stage } from '../pipeline/types.js';
import { errorReason } from '../report/reason-text.js';
import type { OutputRecord } from '../state/records.js';
import type { EngineContext } from './context.js';
import { decide, forced, type Decision, type StaleState } from './decide.js';
import { EscapeCheck, EscapeError } from './escapes.js';
import { fetchDecision } from './fetch-freshness.js';
import { EXECUTABLE_MARK, stageInputs, type KnownDeps, type StageInputs } from './inputs.js';

/** stages planned at once (their lookups and hashing overlap) */
const PLANNING_AT_ONCE = 16;

export type PlannedAction =
  | Decision
  | { action: 'fail'; reasons: Reason[] }
  | { action: 'not-run'; state: StaleState; reasons: Reason[] };

export interface StagePlan {
  name: string;
  decision: PlannedAction;
  /** the stage's inputs as planned; absent when they depend on a stage that has yet to run */
  inputs?: StageInputs;
  /** the upstream output digests the decision was made against */
  upstream: Record<string, string>;
}

export interface PlanOptions {
  force: ReadonlySet<string>;
  offline: boolean;
}

/** What a planned stage leaves for the stages downstream of it. */
type Outcome =
  | { kind: 'known'; outputHash: string; restored?: OutputRecord[] }
  | { kind: 'will-change' }
  | { kind: 'failed'; cause: string }
  /** an upstream stage outside the plan has never run (`stage`: which one), so nothing makes what this needs */
  | { kind: 'outside'; stage: string };

export class Planner {
  private readonly escapes: EscapeCheck;

  constructor(private readonly ctx: EngineContext, private readonly opts: PlanOptions) {
    this.escapes = new EscapeCheck(ctx);
  }

  /**
   * A decision for every stage of `order` (in dependency order). Stages are planned as soon as their
   * upstream stages are, several at a time: what a decision waits on (a dep to hash, a run-cache lookup
   * that may go over the network) overlaps with the others'.
   */
  async planAll(order: string[]): Promise<Map<string, StagePlan>> {
    const plans = new Map<string, StagePlan>();
    const outcomes = new Map<string, Outcome>();
    // only the stages being planned are held as promises: one per stage of a 100,000-stage graph, made up
    // front, cost 150 MB and 2 s of a dry run
    const inFlight = new Map<string, Promise<void>>();
    for (const name of order) {
      for (const u of this.ctx.project.graph.upstream[name] ?? []) {
        const pending = inFlight.get(u);
        if (pending) await pending;
      }
      if (inFlight.size >= PLANNING_AT_ONCE) await Promise.race(inFlight.values());
      const done = this.planInContext(this.ctx.project.stages.get(name)!, outcomes).then((plan) => {
        plans.set(name, plan);
        outcomes.set(name, outcomeOf(plan));
        inFlight.delete(name);
      });
      done.catch(() => {}); // its failure is thrown where it is awaited; the others' may not be awaited at all
      inFlight.set(name, done);
    }
    await Promise.all(inFlight.values());
    return new Map(order.map((name) => [name, plans.get(name)!]));
  }

  /** The decision for one stage against what its upstream stages produced (the builder re-plans with this). */
  async planStage(stage: Stage, upstream: Record<string, string>, known?: KnownDeps): Promise<StagePlan> {
    const force = this.opts.force.has(stage.name);
    if (stage.fetch) {
      const { inputs, decision } = await fetchDecision(this.ctx, stage, upstream, force, this.opts.offline);
      return { name: stage.name, decision, inputs, upstream };
    }
    let inputs: StageInputs;
    try {
      inputs = await stageInputs(this.ctx, stage, upstream, undefined, (dep) => this.escapes.refuseReading(dep), known);
    } catch (err) {
      if (err instanceof EscapeError) return failed(stage, upstream, err.message);
      throw err;
    }
    if (inputs.missing.length) {
      const n = inputs.missing.length;
      return failed(stage, upstream, `missing dep${n > 1 ? 's' : ''} ${inputs.missing.join(', ')} (no file, and no stage produces it)`);
    }
    const decision = await decide(this.ctx, stage, inputs, force);
    if (decision.action !== 'skip') {
      // checked only before writing: a fresh stage touches nothing
      const escaping = this.escapes.writing([...stage.outs, ...(stage.log ? [stage.log] : [])]);
      if (escaping) return failed(stage, upstream, escaping);
    }
    return { name: stage.name, decision, inputs, upstream };
  }

  private async planInContext(stage: Stage, outcomes: Map<string, Outcome>): Promise<StagePlan> {
    const ups = this.ctx.project.graph.upstream[stage.name] ?? [];
    const state: StaleState = this.ctx.records.stage(stage.name) ? 'stale' : 'never-run';
    const upstream: Record<string, string> = Object.create(null); // a stage may be named __proto__
    const waiting: string[] = [];
    for (const u of ups) {
      const o = outcomes.get(u) ?? this.recorded(u);
      if (o.kind === 'outside') return { name: stage.name, decision: { action: 'not-run', state, reasons: [{ kind: 'upstream-outside', subject: o.stage }] }, upstream };
      if (o.kind === 'failed') return { name: stage.name, decision: { action: 'not-run', state, reasons: [{ kind: 'upstream-failed', subject: o.cause }] }, upstream };
      if (o.kind === 'will-change') waiting.push(u);
      else upstream[u] = o.outputHash;
    }
    if (waiting.length) {
      const decision = this.opts.force.has(stage.name) ? forced(state === 'stale') : { action: 'run' as const, state, reasons: [{ kind: 'upstream-will-run' as const, subject: waiting.join(', ') }] };
      return { name: stage.name, decision, upstream };
    }
    return this.planStage(stage, upstream, this.restoredDeps(stage, ups, outcomes));
  }

  /**
   * An upstream stage outside the plan (`--from`, `--downstream` leave it out): what its record says. Without
   * one, nothing in this run will make its outputs.
   */
  private recorded(name: string): Outcome {
    const hash = this.ctx.records.stage(name)?.outputHash;
    return hash === undefined ? { kind: 'outside', stage: name } : { kind: 'known', outputHash: hash };
  }

  /**
   * The deps that lie in outputs an upstream stage will restore: not on disk yet, their values are known
   * from the restored records (a file or folder output named as the dep) or, when the stage's last run saw the same upstream outputs,
   * from its own record.
   */
  private restoredDeps(stage: Stage, ups: string[], outcomes: Map<string, Outcome>): KnownDeps | undefined {
    const restored = ups.flatMap((u) => {
      const o = outcomes.get(u);
      return o?.kind === 'known' && o.restored ? [{ u, outputHash: o.outputHash, outs: o.restored }] : [];
    });
    if (restored.length === 0) return undefined;
    const record = this.ctx.records.stage(stage.name);
    return (file) => {
      for (const { u, outputHash, outs } of restored) {
        const out = outs.find((o) => file === o.path || file.startsWith(o.path + '/'));
        if (!out) continue;
        if (out.path === file && out.kind === 'file') return out.exec ? out.hash + EXECUTABLE_MARK : out.hash;
        if (out.path === file && out.kind === 'dir') return out.hash; // a folder dep's value is its hash, as recorded
        if (record?.parts.upstream[u] === outputHash) return record.parts.deps[file];
      }
      return undefined;
    };
  }
}

function outcomeOf(plan: StagePlan): Outcome {
  const d = plan.decision;
  switch (d.action) {
    case 'skip': return { kind: 'known', outputHash: d.outputHash };
    case 'restore': return { kind: 'known', outputHash: d.from.outputHash, restored: d.from.outs };
    case 'run': return { kind: 'will-change' };
    case 'fail': return { kind: 'failed', cause: plan.name };
    case 'not-run': {
      const first = d.reasons[0];
      if (first?.kind === 'upstream-outside' && first.subject) return { kind: 'outside', stage: first.subject };
      return { kind: 'failed', cause: first?.subject ?? plan.name };
    }
  }
}

function failed(stage: Stage, upstream: Record<string, string>, message: string): StagePlan {
  return { name: stage.name, decision: { action: 'fail', reasons: [errorReason(message)] }, upstream };
}

/** The state a status line shows for a planned stage. */
export function plannedState(d: PlannedAction): StageState | 'failed' {
  return d.action === 'fail' ? 'failed' : d.state;
}
