/** pipe clean: remove declared outputs (the cache keeps them); pipe gc: drop cache objects nothing refers to. */
import { lstatSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { openEngine } from '../plan/context.js';
import { acquireLock } from '../state/lock.js';
import { escapeThroughSymlink } from '../util/containment.js';
import { bytes } from '../report/format.js';
import type { GlobalOptions } from './options.js';
import { open, openWithShorthands, selectStages } from './session.js';
import { matchTargets, defaultTargets } from '../graph/select.js';

export async function cleanCommand(targets: string[], opts: { set: string[] }, globals: GlobalOptions): Promise<void> {
  const opened = await openWithShorthands(globals, opts.set, targets);
  const project = opened.project;
  targets = opened.targets;
  const chosen = targets.length ? matchTargets(targets, project.selectable) : selectStages(project, defaultTargets(project.selectable));
  const lock = await acquireLock(project.stateDir, { command: 'pipe clean', onWait: (h) => process.stderr.write(`waiting for pid ${h.pid} (${h.command})\n`), onTakeOver: (m) => process.stderr.write(`${m}\n`) });
  try {
    let removed = 0;
    const links = new Map<string, string>();
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
        removeNoFollow(abs);
        removed++;
      }
    }
    if (!globals.quiet) process.stdout.write(`removed ${removed} output(s) of ${chosen.length} stage(s); the next run restores them from the cache\n`);
  } finally {
    lock.release();
  }
}

export async function gcCommand(opts: { keepRuns?: boolean }, globals: GlobalOptions): Promise<void> {
  const project = await open(globals);
  const lock = await acquireLock(project.stateDir, { command: 'pipe gc', onTakeOver: (m) => process.stderr.write(`${m}\n`) });
  try {
    const engine = openEngine(project);
    const current = engine.records.allStages().filter((r) => project.stages.has(r.name));
    const live = opts.keepRuns ? [...current.flatMap((r) => r.outs), ...engine.records.allRuns().flatMap((r) => r.outs)] : current.flatMap((r) => r.outs);
    if (!opts.keepRuns) engine.records.retainRuns(new Set(current.map((r) => r.key)));
    const result = engine.objects.gc(live);
    engine.records.close();
    if (!globals.quiet) process.stdout.write(`removed ${result.removedFiles} object(s), ${bytes(result.removedBytes)}\n`);
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
