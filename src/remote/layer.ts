/**
 * The team cache behind this machine's caches, as the planner's OutputStore and RunCache: a key the local
 * run-cache lacks is asked of the team cache; an output the local store lacks is downloaded into it, then
 * restored from it; what a stage produces is stored locally and uploaded in the background.
 */
import { rm } from 'node:fs/promises';
import type { PathHash } from '../hash/types.js';
import type { CacheLayer, LocalCaches } from '../plan/context.js';
import { ObjectUnavailable, type ObjectProblem } from '../state/objects.js';
import type { OutputStore, RunCache, RunCacheEntry, SharedSnapshot, SnapshotFile, SnapshotStore } from '../state/stores.js';
import type { TeamCache } from './team-cache.js';

class LayeredRuns implements RunCache {
  constructor(private readonly local: LocalCaches, private readonly team: TeamCache) {}

  async get(key: string): Promise<RunCacheEntry | undefined> {
    const here = this.local.runs.lookup(key);
    if (here && here.outs.every((o) => this.local.objects.problemNow(o) === undefined)) return here;
    // the local store no longer holds what the local entry names (a loan ended with an edit, gc, damage):
    // the team cache may, and its record is what lets the layered store restore from it
    return (await this.team.lookup(key)) ?? here;
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
    // missing here or damaged here (restore drops it first): the team cache holds it
    if (here && this.team.knows(h)) return undefined;
    return here;
  }

  async has(h: PathHash): Promise<boolean> {
    return (await this.problem(h)) === undefined;
  }

  put(absPath: string, h: PathHash, label?: string): Promise<void> {
    return this.local.objects.put(absPath, h, label);
  }

  async restore(h: PathHash, absPath: string, label = absPath): Promise<void> {
    const here = this.local.objects.problemNow(h);
    if (here === undefined || !this.team.knows(h)) {
      try {
        return await this.local.objects.restore(h, absPath, label);
      } catch (err) {
        // found damaged as it was read (and dropped): downloaded instead when the team cache holds it
        if (!(err instanceof ObjectUnavailable && err.damaged && this.team.knows(h))) throw err;
      }
    } else if (!here.missing) await this.local.objects.dropDamaged(h);
    // a file output is written as it downloads, beside the store's copy, rather than copied from it afterwards;
    // a large one is written once, as the output, and lent to the store (src/state/loans.ts)
    const copy = await this.local.objects.copyTemp(h, absPath);
    const lend = copy !== undefined && this.local.objects.lends(h);
    try {
      let prepared = false;
      try {
        prepared = await this.team.fetch(h, label, copy, lend);
      } catch (err) {
        throw new ObjectUnavailable(`could not be restored from the team cache (${this.team.failed(err, label)})`, false);
      }
      if (lend && prepared) await this.local.objects.lend(h, copy!, absPath, label);
      else await this.local.objects.restore(h, absPath, label, prepared ? copy : undefined);
    } finally {
      if (copy) await rm(copy, { force: true });
    }
  }

  dropDamaged(h: PathHash): Promise<void> {
    return this.local.objects.dropDamaged(h);
  }
}

/** Fetch stages' snapshots: this machine's copy is the model cache; the team cache is asked by key. */
class SharedSnapshots implements SnapshotStore {
  constructor(private readonly team: TeamCache) {}

  get(key: string): Promise<SharedSnapshot | undefined> {
    return this.team.lookupSnapshot(key);
  }

  download(key: string, file: SnapshotFile, dest: string, onBytes?: (n: number) => void): Promise<void> {
    return this.team.downloadSnapshotFile(key, file, dest, onBytes);
  }

  put(key: string, snapshot: SharedSnapshot, blobOf: (f: SnapshotFile) => string): void {
    this.team.uploadSnapshot(key, snapshot, blobOf);
  }
}

export function teamCacheLayer(team: (local: LocalCaches) => TeamCache): CacheLayer {
  return (local) => {
    const t = team(local);
    return { objects: new LayeredObjects(local, t), runCache: new LayeredRuns(local, t), snapshots: new SharedSnapshots(t) };
  };
}
