/** The state of each selected stage, from a dry run of the planner (no lock, nothing written). */
import { ResourcePool } from '../exec/resources.js';
import { execute } from '../exec/execute.js';
import { openEngine } from '../plan/context.js';
import type { Project } from '../project.js';
import type { Reporter, StageEvent } from '../report/events.js';

export type DisplayState = 'fresh' | 'stale' | 'never-run' | 'missing-outputs' | 'failed';

export interface StageStateReport {
  name: string;
  state: DisplayState;
  reasons: string[];
}

export async function stageStates(project: Project, order: string[]): Promise<StageStateReport[]> {
  const events = new Map<string, StageEvent>();
  const collector: Reporter = {
    plan() {},
    start() {},
    finish: (e) => void events.set(e.stage, e),
    progress() {},
    note() {},
    summary: async () => {},
  };
  const engine = openEngine(project);
  await execute(engine, order, {
    jobs: 1, keepGoing: true, dryRun: true, force: new Set(), offline: true, noNetwork: false,
    signal: new AbortController().signal, resources: new ResourcePool({ cpu: 1, gpu: 0, mem: 0 }),
  }, collector);
  return order.map((name) => toReport(name, events.get(name)));
}

function toReport(name: string, e: StageEvent | undefined): StageStateReport {
  if (!e) return { name, state: 'stale', reasons: ['unknown'] };
  const reasons = e.reason.replace(/^would run: /, '').split('; ').filter(Boolean);
  if (e.state) return { name, state: e.state, reasons };
  return { name, state: e.status === 'failed' ? 'failed' : 'stale', reasons };
}
