/** The plan of the selected stages, for status, explain, graph --status and run -n (no lock; only the stat cache is written, see rememberHashes). */
import { openEngine, type EngineContext } from '../plan/context.js';
import { Planner, plannedState, type PlannedAction, type StagePlan } from '../plan/plan.js';
import type { Project } from '../project.js';
import type { Reason, StageState, StageStatus } from '../report/events.js';
import { reasonText } from '../report/reason-text.js';

export type DisplayState = StageState | 'failed';

export interface StageStateReport {
  name: string;
  state: DisplayState;
  /** the reasons as text (status --json's contract) */
  reasons: string[];
  /** the same reasons as data */
  why: Reason[];
}

export interface PlanRequest {
  force?: ReadonlySet<string>;
  offline?: boolean;
}

export async function planOf(engine: EngineContext, order: string[], req: PlanRequest = {}): Promise<StagePlan[]> {
  const plans = await new Planner(engine, { force: req.force ?? new Set(), offline: req.offline ?? true }).planAll(order);
  rememberHashes(engine);
  return order.map((name) => plans.get(name)!);
}

export async function stageStates(project: Project, order: string[]): Promise<StageStateReport[]> {
  return (await planOf(openEngine(project), order)).map((p) => ({
    name: p.name,
    state: plannedState(p.decision),
    reasons: p.decision.reasons.map(reasonText),
    why: p.decision.reasons,
  }));
}

/** The status a run would report for a planned stage. */
export function plannedStatus(d: PlannedAction): StageStatus {
  switch (d.action) {
    case 'skip': return 'skipped';
    case 'restore': return 'restored';
    case 'run': return 'ran';
    case 'fail': return 'failed';
    case 'not-run': return 'not-run';
  }
}

/** The files a plan read are not read again by the next command (a plan takes no lock: see saveIfUnchanged). */
function rememberHashes(engine: EngineContext): void {
  try {
    engine.stats.saveIfUnchanged();
  } catch {
    /* a read-only project still plans; the next command reads the files again */
  }
}
