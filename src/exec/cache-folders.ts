/**
 * Application caches are created on first use: before the first command of a run starts, each one exists, so
 * a program can write into $PIPE_CACHE_TMDB without creating it. A folder inside the project that leads
 * outside through a symlink is refused unless it lands under `allow_outside`, as any path pipe writes is.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { isWithinFolder } from '../pipeline/paths.js';
import type { Pipeline } from '../pipeline/types.js';
import { escapeThroughSymlink } from '../util/containment.js';
import { UserError, EXIT } from '../util/errors.js';

const prepared = new WeakSet<Pipeline>();

export function prepareAppCaches(pipeline: Pipeline): void {
  if (prepared.has(pipeline)) return;
  for (const [name, dir] of Object.entries(pipeline.cache.apps)) {
    const leadsTo = cacheFolderEscape(pipeline, dir);
    if (leadsTo !== undefined) {
      throw new UserError(`cache apps.${name} '${path.relative(pipeline.root, dir)}' leads outside the project through a symlink (to ${leadsTo}); list that folder under allow_outside to keep a cache there`, EXIT.stageFailed);
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new UserError(`could not create cache apps.${name} (${dir}): ${(err as Error).message}`, EXIT.stageFailed);
    }
  }
  prepared.add(pipeline);
}

/** Where a cache folder inside the project leads outside it (and outside allow_outside), or undefined. */
export function cacheFolderEscape(pipeline: Pipeline, dir: string): string | undefined {
  if (!isWithinFolder(pipeline.root, dir)) return undefined; // an allow_outside root, checked when loaded
  const target = escapeThroughSymlink(pipeline.root, path.relative(pipeline.root, dir).split(path.sep).join('/'));
  if (target === undefined || pipeline.allowOutside.some((allowed) => isWithinFolder(allowed, target))) return undefined;
  return target;
}
