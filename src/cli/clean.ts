/** pipe clean: remove declared outputs (the cache keeps them), or with --orphans the outputs no stage declares any more, or with --caches empty the caches; pipe gc: drop cache objects nothing refers to. */
import { existsSync, lstatSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { localObjects, openEngine } from '../plan/context.js';
import { acquireLock } from '../state/lock.js';
import { escapeThroughSymlink } from '../util/containment.js';
import { bytes } from '../report/format.js';
import type { GlobalOptions } from './options.js';
import { open, openWithShorthands, selectStages } from './session.js';
import { matchTargets, defaultTargets } from '../graph/select.js';
import type { Project } from '../project.js';
import { UserError } from '../util/errors.js';
import { findOrphans, forgetGoneStages, type Orphan } from './orphans.js';
import { cleanCaches } from './clean-caches.js';

export interface CleanOptions {
  set: string[];
  orphans?: boolean;
  caches?: boolean;
  dryRun?: boolean;
}

export async function cleanCommand(targets: string[], opts: CleanOptions, globals: GlobalOptions): Promise<void> {
  const opened = await openWithShorthands(globals, opts.set, targets);
  const project = opened.project;
  targets = opened.targets;
  if (opts.orphans && targets.length) throw new UserError(`pipe clean --orphans takes no targets (got ${targets.join(' ')}): it looks at every stage`);
  if (opts.orphans && opts.caches) throw new UserError('pipe clean: --orphans and --caches are two different cleanings; give one');
  const lock = await acquireLock(project.stateDir, { command: 'pipe clean', onWait: (h) => process.stderr.write(`waiting for pid ${h.pid} (${h.command})\n`), onTakeOver: (m) => process.stderr.write(`${m}\n`) });
  try {
    if (opts.orphans) await cleanOrphans(project, !!opts.dryRun, globals);
    else if (opts.caches) cleanCaches(project.pipeline, targets, !!opts.dryRun, globals);
    else await cleanDeclared(project, targets, !!opts.dryRun, globals);
  } finally {
    lock.release();
  }
}

async function cleanDeclared(project: Project, targets: string[], dryRun: boolean, globals: GlobalOptions): Promise<void> {
  const chosen = targets.length ? matchTargets(targets, project.selectable) : selectStages(project, defaultTargets(project.selectable));
  let removed = 0;
  const links = new Map<string, string>();
  const objects = localObjects(project);
  for (const name of chosen) {
    for (const out of project.stages.get(name)!.outs) {
      // outs are validated project-relative paths; resolve once more so nothing outside the root is touched
      const abs = path.resolve(project.root, out);
      if (!abs.startsWith(project.root + path.sep)) continue;
      // a folder on the way that links outside would make the removal happen out there; the output
      // itself being a link is fine: the link is removed, never what it points to
      const outside = escapeThroughSymlink(project.root, path.posix.dirname(out), links);
      if (outside !== undefined) {
        process.stderr.write(`pipe: not removing '${out}': it leads outside the project through a symlink (to ${outside})\n`);
        continue;
      }
      if (dryRun) {
        if (existsSync(abs)) process.stdout.write(`would remove ${out}\n`);
        continue;
      }
      // an output holding an object on loan goes into the store (a rename) rather than away
      if (!(await objects.takeLent(abs))) removeNoFollow(abs);
      removed++;
    }
  }
  if (!globals.quiet && !dryRun) process.stdout.write(`removed ${removed} output(s) of ${chosen.length} stage(s); the next run restores them from the cache\n`);
}

/** --orphans: list what an earlier run wrote and no stage declares now, then (unless -n) remove it and forget its records. */
async function cleanOrphans(project: Project, dryRun: boolean, globals: GlobalOptions): Promise<void> {
  const engine = openEngine(project);
  const { orphans, kept } = await findOrphans(project, engine);
  for (const k of kept) process.stderr.write(`pipe: not removing '${k.path}': ${k.reason}\n`);
  if (!globals.json) printOrphans(orphans, dryRun, globals.quiet);
  if (!dryRun) {
    for (const o of orphans) removeNoFollow(path.join(project.root, ...o.path.split('/')));
    forgetGoneStages(project, engine);
  }
  engine.stats.save();
  engine.records.close();
  if (globals.json) process.stdout.write(JSON.stringify({ dryRun, orphans, removed: dryRun ? [] : orphans.map((o) => o.path), kept }) + '\n');
  else if (!globals.quiet && !dryRun && orphans.length) process.stdout.write(`removed ${orphans.length} orphaned output(s); their contents stay in the cache until \`pipe gc\`\n`);
}

function printOrphans(orphans: Orphan[], dryRun: boolean, quiet: boolean): void {
  if (orphans.length === 0) {
    if (!quiet) process.stdout.write('no orphaned outputs\n');
    return;
  }
  process.stdout.write(`${dryRun ? 'would remove' : 'removing'} ${orphans.length} orphaned output(s) (an earlier run wrote them; no stage declares them now):\n`);
  for (const o of orphans) {
    const by = o.stages.length ? `stage ${o.stages.join(', ')}` : 'an earlier run';
    process.stdout.write(`  ${o.path}${o.kind === 'dir' ? '/' : ''}  (${by})\n`);
  }
  if (dryRun) process.stdout.write('dry run: nothing removed\n');
}

export async function gcCommand(opts: { keepRuns?: boolean }, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const lock = await acquireLock(project.stateDir, { command: 'pipe gc', onTakeOver: (m) => process.stderr.write(`${m}\n`) });
  try {
    const engine = openEngine(project);
    const current = engine.records.allStages().filter((r) => project.stages.has(r.name));
    const { runs, objects } = engine.local;
    const live = opts.keepRuns ? [...current.flatMap((r) => r.outs), ...runs.all().flatMap((r) => r.outs)] : current.flatMap((r) => r.outs);
    if (!opts.keepRuns) runs.retain(new Set(current.map((r) => r.key)), engine.records);
    const result = objects.gc(live);
    engine.records.close();
    runs.close();
    const linked = result.stillLinkedBytes ? ` (${bytes(result.stillLinkedBytes)} more once the outputs hardlinked to them are removed: pipe clean --orphans)` : '';
    if (!globals.quiet) process.stdout.write(`removed ${result.removedFiles} object(s), ${bytes(result.removedBytes)} freed${linked}\n`);
  } finally {
    lock.release();
  }
}

/** Removes a file or folder; a symlink is unlinked itself (rmSync would too, but say it plainly). */
function removeNoFollow(abs: string): void {
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isSymbolicLink()) unlinkSync(abs);
  else rmSync(abs, { recursive: true, force: true });
}
