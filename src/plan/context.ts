/** What the planner and the executor share: the project, its records, the stat cache and the object store. */
import path from 'node:path';
import { StatCache } from '../hash/index.js';
import type { Project } from '../project.js';
import type { Stage } from '../pipeline/types.js';
import { ObjectStore } from '../state/objects.js';
import { redactorFor } from '../report/redact.js';
import { RecordStore } from '../state/records.js';

export interface EngineContext {
  project: Project;
  records: RecordStore;
  stats: StatCache;
  objects: ObjectStore;
  /** names of the fetch stages, for HF_HUB_OFFLINE */
  fetchStages: ReadonlySet<string>;
}

export function openEngine(project: Project): EngineContext {
  const dir = project.stateDir;
  return {
    project,
    records: new RecordStore(path.join(dir, 'state.log'), (line) => redactorFor(project.root).text(line)).load(),
    stats: new StatCache(path.join(dir, 'stat-cache'), { memoize: true }),
    objects: new ObjectStore(path.join(dir, 'cache')),
    fetchStages: new Set(project.pipeline.stages.filter((s) => s.fetch).map((s) => s.name)),
  };
}

export function absolute(ctx: EngineContext, rel: string): string {
  return path.resolve(ctx.project.root, rel); // a dep under `allow_outside` is already absolute
}

export function logFileOf(ctx: EngineContext, stage: Stage): string {
  return stage.log ? absolute(ctx, stage.log) : path.join(ctx.project.stateDir, 'logs', `${stage.name}.log`);
}
