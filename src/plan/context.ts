/** What the planner and the executor share: the project, its records, the stat cache and the caches. */
import path from 'node:path';
import { StatCache } from '../hash/index.js';
import type { Project } from '../project.js';
import type { Stage } from '../pipeline/types.js';
import { ObjectStore } from '../state/objects.js';
import { redactorFor } from '../report/redact.js';
import { RecordStore } from '../state/records.js';
import { LocalRunCache } from '../state/run-cache.js';
import type { OutputStore, RunCache, SnapshotStore } from '../state/stores.js';

export interface EngineContext {
  project: Project;
  records: RecordStore;
  stats: StatCache;
  /** where outputs are kept by content (this machine's store, maybe with a team cache behind it) */
  objects: OutputStore;
  /** stage key -> outputs (likewise) */
  runCache: RunCache;
  /** fetch stages' snapshots shared by key (only with a team cache) */
  snapshots?: SnapshotStore;
  /** this machine's caches, for what only they do (gc, orphans, saving) */
  local: LocalCaches;
  /** names of the fetch stages, for HF_HUB_OFFLINE */
  fetchStages: ReadonlySet<string>;
}

export interface LocalCaches {
  objects: ObjectStore;
  runs: LocalRunCache;
}

/** Puts other caches behind the local ones (the team cache); the planner only sees the interfaces. */
export type CacheLayer = (local: LocalCaches) => { objects: OutputStore; runCache: RunCache; snapshots?: SnapshotStore };

/** The project's own store of outputs (`.pipe/cache`). */
export function localObjects(project: Project): ObjectStore {
  return new ObjectStore(path.join(project.stateDir, 'cache'), { link: project.pipeline.link, root: project.root });
}

export function openEngine(project: Project, layer?: CacheLayer): EngineContext {
  const dir = project.stateDir;
  const redact = (line: string) => redactorFor(project.root).text(line);
  const records = new RecordStore(path.join(dir, 'state.log'), redact).load();
  const local: LocalCaches = {
    objects: localObjects(project),
    runs: new LocalRunCache(path.join(dir, 'run-cache.log'), records.legacyRuns(), redact).load(),
  };
  return {
    project,
    records,
    stats: new StatCache(path.join(dir, 'stat-cache'), { memoize: true }),
    ...(layer ? layer(local) : { objects: local.objects, runCache: local.runs }),
    local,
    fetchStages: new Set(project.pipeline.stages.filter((s) => s.fetch).map((s) => s.name)),
  };
}

export function absolute(ctx: EngineContext, rel: string): string {
  return path.resolve(ctx.project.root, rel); // a dep under `allow_outside` is already absolute
}

export function logFileOf(ctx: EngineContext, stage: Stage): string {
  return stage.log ? absolute(ctx, stage.log) : path.join(ctx.project.stateDir, 'logs', `${stage.name}.log`);
}
