/** The plan of the selected stages, for status, explain, graph --status and run -n (no lock; only the stat cache is written, see rememberHashes). */
import { openEngine, type CacheLayer, type EngineContext } from '../plan/context.js';
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
  /** a stage that is not fresh, which the team cache would restore (status --remote-cache) */
  teamCache?: true;
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

/** `layer`: a team cache behind the local caches (status --remote-cache); the plan only looks, there too. */
export async function stageStates(project: Project, order: string[], layer?: CacheLayer): Promise<StageStateReport[]> {
  const engine = openEngine(project, layer);
  const plans = await planOf(engine, order);
  const shared = await sharedSnapshots(engine, plans);
  return plans.map((p) => ({
    name: p.name,
    state: plannedState(p.decision),
    reasons: p.decision.reasons.map(reasonText),
    why: p.decision.reasons,
    ...((p.decision.action === 'restore' && p.decision.from.from === 'remote') || shared.has(p.name) ? { teamCache: true as const } : {}),
  }));
}

/** The fetch stages that would run whose model snapshot the team cache holds (one lookup each, at once). */
async function sharedSnapshots(engine: EngineContext, plans: StagePlan[]): Promise<Set<string>> {
  const snapshots = engine.snapshots;
  if (!snapshots) return new Set();
  const wanted = plans.filter((p) => p.decision.action === 'run' && p.inputs && engine.project.stages.get(p.name)?.fetch);
  const found = await Promise.all(wanted.map(async (p) => ((await snapshots.get(p.inputs!.key)) ? p.name : undefined)));
  return new Set(found.filter((n): n is string => n !== undefined));
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
