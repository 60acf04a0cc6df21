/**
 * Orphaned outputs (like ninja's `-t cleandead`): paths that an earlier run recorded as outputs, that no stage
 * of the pipeline declares now (a removed or renamed stage, a foreach item whose file is gone, a renamed
 * output). Only what pipe wrote is one: the content must still be a recorded one, the path must stay inside
 * the project (symlinks included), and nothing a current stage declares, reads or logs to is ever touched.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { EngineContext } from '../plan/context.js';
import type { Project } from '../project.js';
import { isGlob } from '../pipeline/paths.js';
import { STATE_DIR } from '../project.js';
import { escapeThroughSymlink } from '../util/containment.js';

export interface Orphan {
  path: string;
  kind: 'file' | 'dir';
  /** the stages whose records name it (empty: only the run-cache does) */
  stages: string[];
}

export interface KeptPath {
  path: string;
  reason: string;
}

interface Recorded {
  hashes: Set<string>;
  stages: Set<string>;
}

export async function findOrphans(project: Project, engine: EngineContext): Promise<{ orphans: Orphan[]; kept: KeptPath[] }> {
  const protectedPaths = new ProtectedPaths(project);
  const orphans: Orphan[] = [];
  const kept: KeptPath[] = [];
  const links = new Map<string, string>();
  for (const [rel, recorded] of [...recordedOutputs(engine)].sort(([a], [b]) => a.localeCompare(b))) {
    if (protectedPaths.has(rel) || !isPlainRelative(rel)) continue;
    const abs = path.join(project.root, ...rel.split('/'));
    if (!lstatSync(abs, { throwIfNoEntry: false })) continue;
    const outside = escapeThroughSymlink(project.root, rel, links);
    if (outside !== undefined) {
      kept.push({ path: rel, reason: `it leads outside the project through a symlink (to ${outside})` });
      continue;
    }
    const now = await engine.stats.hash(abs);
    if (now.kind === 'missing') continue;
    if (!recorded.hashes.has(`${now.kind}:${now.hash}`)) {
      kept.push({ path: rel, reason: 'it changed since pipe wrote it' });
      continue;
    }
    orphans.push({ path: rel, kind: now.kind, stages: [...recorded.stages].sort() });
  }
  return { orphans: outermostOrphans(orphans), kept };
}

/** Records of stages that no longer exist and whose outputs are all gone: forget them. */
export function forgetGoneStages(project: Project, engine: EngineContext): string[] {
  const gone = engine.records.allStages().filter((r) => !project.stages.has(r.name)
    && r.outs.every((o) => !isPlainRelative(o.path) || !lstatSync(path.join(project.root, o.path), { throwIfNoEntry: false })));
  for (const r of gone) engine.records.forget(r.name);
  return gone.map((r) => r.name);
}

/** Every path a stage record or a run-cache entry names as an output, with the contents recorded for it. */
function recordedOutputs(engine: EngineContext): Map<string, Recorded> {
  const byPath = new Map<string, Recorded>();
  const add = (outs: { path: string; kind: string; hash: string }[], stage?: string) => {
    for (const o of outs) {
      if (o.kind === 'missing') continue;
      const entry = byPath.get(o.path) ?? { hashes: new Set(), stages: new Set() };
      entry.hashes.add(`${o.kind}:${o.hash}`);
      if (stage) entry.stages.add(stage);
      byPath.set(o.path, entry);
    }
  };
  for (const r of engine.records.allStages()) add(r.outs, r.name);
  for (const r of engine.local.runs.all()) add(r.outs);
  return byPath;
}

/**
 * What a current stage declares (outs, logs, plain deps), the pipeline's own files and the cache roots: none
 * of them, nothing inside them, and no folder holding one of them is an orphan. A glob dep protects the
 * folders above its fixed part, not what it matches (a stale object matched by `obj/*.o` is an orphan).
 */
class ProtectedPaths {
  private readonly exact = new Set<string>([STATE_DIR]);
  private readonly above = new Set<string>();

  constructor(project: Project) {
    const relative = (abs: string) => path.relative(project.root, abs).split(path.sep).join('/');
    const { cache } = project.pipeline;
    for (const p of [relative(project.file), ...project.imports, relative(cache.hfHome), relative(cache.torchHome), relative(cache.mlxHome)]) this.add(p);
    for (const stage of project.stages.values()) {
      for (const p of [...stage.outs, ...(stage.log ? [stage.log] : [])]) this.add(p);
      for (const dep of stage.deps) {
        if (path.isAbsolute(dep)) continue;
        if (isGlob(dep)) this.addAbove(fixedPart(dep));
        else this.add(dep);
      }
    }
  }

  has(rel: string): boolean {
    return this.above.has(rel) || this.exact.has(rel) || ancestors(rel).some((a) => this.exact.has(a));
  }

  private add(rel: string): void {
    this.exact.add(rel);
    for (const a of ancestors(rel)) this.above.add(a);
  }

  private addAbove(rel: string): void {
    if (rel === '') return;
    this.above.add(rel);
    for (const a of ancestors(rel)) this.above.add(a);
  }
}

/** An orphan inside another orphan goes with it. */
function outermostOrphans(orphans: Orphan[]): Orphan[] {
  const paths = new Set(orphans.map((o) => o.path));
  return orphans.filter((o) => !ancestors(o.path).some((a) => paths.has(a)));
}

function ancestors(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function fixedPart(glob: string): string {
  const parts = glob.split('/');
  const first = parts.findIndex(isGlob);
  return parts.slice(0, first < 0 ? parts.length : first).join('/');
}

function isPlainRelative(rel: string): boolean {
  return rel !== '' && !path.isAbsolute(rel) && !rel.split('/').some((p) => p === '' || p === '.' || p === '..');
}
