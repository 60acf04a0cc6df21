/**
 * The team cache behind this machine's caches, as the planner's OutputStore and RunCache: a key the local
 * run-cache lacks is asked of the team cache; an output the local store lacks is downloaded into it, then
 * restored from it; what a stage produces is stored locally and uploaded in the background.
 */
import type { PathHash } from '../hash/types.js';
import type { CacheLayer, LocalCaches } from '../plan/context.js';
import { ObjectUnavailable, type ObjectProblem } from '../state/objects.js';
import type { OutputStore, RunCache, RunCacheEntry } from '../state/stores.js';
import type { TeamCache } from './team-cache.js';

class LayeredRuns implements RunCache {
  constructor(private readonly local: LocalCaches, private readonly team: TeamCache) {}

  async get(key: string): Promise<RunCacheEntry | undefined> {
    return this.local.runs.lookup(key) ?? (await this.team.lookup(key));
  }

  async put(entry: RunCacheEntry): Promise<void> {
    this.local.runs.add(entry);
    this.team.upload(entry);
  }
}

class LayeredObjects implements OutputStore {
  constructor(private readonly local: LocalCaches, private readonly team: TeamCache) {}

  async problem(h: PathHash): Promise<ObjectProblem | undefined> {
    const here = this.local.objects.problemNow(h);
    if (here?.missing && this.team.knows(h)) return undefined;
    return here;
  }

  async has(h: PathHash): Promise<boolean> {
    return (await this.problem(h)) === undefined;
  }

  put(absPath: string, h: PathHash, label?: string): Promise<void> {
    return this.local.objects.put(absPath, h, label);
  }

  async restore(h: PathHash, absPath: string, label = absPath): Promise<void> {
    if (this.local.objects.problemNow(h)?.missing && this.team.knows(h)) {
      try {
        await this.team.fetch(h, label);
      } catch (err) {
        throw new ObjectUnavailable(`could not be restored from the team cache (${this.team.failed(err, label)})`, false);
      }
    }
    await this.local.objects.restore(h, absPath, label);
  }

  dropDamaged(h: PathHash): Promise<void> {
    return this.local.objects.dropDamaged(h);
  }
}

export function teamCacheLayer(team: (local: LocalCaches) => TeamCache): CacheLayer {
  return (local) => {
    const t = team(local);
    return { objects: new LayeredObjects(local, t), runCache: new LayeredRuns(local, t) };
  };
}
