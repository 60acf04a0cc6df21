/**
 * An application cache is kept between runs and emptied only by `pipe clean --caches`: it is never an output
 * (an output is moved aside before its stage runs, restored and cleaned) and never hashed as a dep (its
 * contents change whenever a stage uses it, so a key holding them would never be fresh). These checks say so
 * at load time, and keep two caches apart (emptying one must not empty the other).
 */
import path from 'node:path';
import { isGlob, isWithinFolder } from './paths.js';
import type { CacheRoots, Pipeline, Stage } from './types.js';
import type { YamlPath } from './source.js';

export interface CacheClash {
  at: YamlPath;
  detail: string;
}

const WHY_NOT_OUTPUT = 'a cache is kept between runs, never moved aside, restored or cleaned as an output';
const WHY_NOT_DEP = 'a cache changes whenever a stage uses it, so its contents never enter a key';

export function cacheClashes(root: string, cache: CacheRoots, stages: readonly Stage[]): CacheClash[] {
  const apps = Object.entries(cache.apps);
  if (apps.length === 0) return [];
  const clashes = cacheOverlaps(root, cache);
  const reported = new Set<string>(); // once per template: every item of a foreach has the same paths
  for (const stage of stages) {
    const found = stagePathClashes(root, stage, apps);
    if (found.length && !reported.has(stage.template ?? stage.name)) clashes.push(...found);
    if (found.length) reported.add(stage.template ?? stage.name);
  }
  return clashes;
}

/** Two application caches, or one and a model root, that are one folder or nest: reported at the later one. */
function cacheOverlaps(root: string, cache: CacheRoots): CacheClash[] {
  const earlier: [string, string][] = [['hf_home', cache.hfHome], ['torch_home', cache.torchHome], ['mlx_home', cache.mlxHome]];
  const clashes: CacheClash[] = [];
  for (const [name, dir] of Object.entries(cache.apps)) {
    const other = earlier.find(([, d]) => isWithinFolder(d, dir) || isWithinFolder(dir, d));
    if (other) {
      const relation = other[1] === dir ? 'is the same folder as' : isWithinFolder(other[1], dir) ? 'lies inside' : 'holds';
      clashes.push({ at: ['cache', 'apps', name], detail: `cache apps.${name} '${shown(root, dir)}' ${relation} cache ${other[0]} '${shown(root, other[1])}'; emptying one would empty the other` });
    }
    earlier.push([`apps.${name}`, dir]);
  }
  return clashes;
}

function stagePathClashes(root: string, stage: Stage, apps: [string, string][]): CacheClash[] {
  const at = (kind: string): YamlPath => ['stages', stage.template ?? stage.name, kind];
  const clashes: CacheClash[] = [];
  for (const out of stage.outs) {
    const abs = path.join(root, out);
    for (const [name, dir] of apps) {
      if (isWithinFolder(dir, abs)) clashes.push({ at: at('outs'), detail: `output '${out}' of stage '${stage.name}' is inside cache apps.${name} (${shown(root, dir)}); ${WHY_NOT_OUTPUT}` });
      else if (isWithinFolder(abs, dir)) clashes.push({ at: at('outs'), detail: `output '${out}' of stage '${stage.name}' holds cache apps.${name} (${shown(root, dir)}); ${WHY_NOT_OUTPUT}` });
    }
  }
  for (const dep of stage.deps) {
    const glob = isGlob(dep);
    const abs = path.resolve(root, glob ? staticPart(dep) : dep);
    for (const [name, dir] of apps) {
      if (isWithinFolder(dir, abs)) clashes.push({ at: at('deps'), detail: `dep '${dep}' of stage '${stage.name}' is inside cache apps.${name} (${shown(root, dir)}); ${WHY_NOT_DEP}` });
      else if (!glob && isWithinFolder(abs, dir)) clashes.push({ at: at('deps'), detail: `dep '${dep}' of stage '${stage.name}' holds cache apps.${name} (${shown(root, dir)}); ${WHY_NOT_DEP}` });
    }
  }
  return clashes;
}

const folders = new WeakMap<Pipeline, string[]>();

/** The project-relative folders of the application caches inside the project: a glob dep skips what is in them. */
export function appCacheFolders(pipeline: Pipeline): string[] {
  let found = folders.get(pipeline);
  if (!found) {
    found = Object.values(pipeline.cache.apps).filter((dir) => isWithinFolder(pipeline.root, dir))
      .map((dir) => path.relative(pipeline.root, dir).split(path.sep).join('/'));
    folders.set(pipeline, found);
  }
  return found;
}

/** The folders of a glob before its first wildcard: `out/cache/*.json` -> `out/cache`. */
function staticPart(glob: string): string {
  const parts = glob.split('/');
  const first = parts.findIndex(isGlob);
  return parts.slice(0, first).join('/') || '.';
}

function shown(root: string, dir: string): string {
  return isWithinFolder(root, dir) ? path.relative(root, dir) || '.' : dir;
}
