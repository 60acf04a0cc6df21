/**
 * pipe run --watch: after a run, watch the deps of the selected stages and rerun what a change affects.
 *
 * - Ignores .pipe/, .git/, every declared output and every stage log, so a run never triggers itself.
 * - Changes are debounced; changes that arrive during a run wait for it to finish, then run together.
 * - A change to the pipeline file (or a file it imports) reloads the pipeline and re-selects the targets;
 *   an invalid pipeline is reported and the last good one stays watched.
 */
import { affectedPart } from '../graph/select.js';
import path from 'node:path';
import picomatch from 'picomatch';
import type { FSWatcher } from 'chokidar';
import type { Project } from '../project.js';
import { isGlob } from '../pipeline/paths.js';
import type { GlobalOptions } from './options.js';

const DEBOUNCE_MS = 250;

/** The selected stages of one version of the pipeline. */
export interface WatchTarget {
  project: Project;
  order: string[];
}

export interface WatchSession extends WatchTarget {
  /** Re-opens the pipeline file and re-selects the targets; throws on an invalid pipeline. */
  reload(): Promise<WatchTarget>;
  /** Brings these stages (a subset of a target's order, upstream first) up to date. */
  run(target: WatchTarget, stages: string[]): Promise<number>;
}

export async function watchAndRerun(session: WatchSession, signal: AbortSignal, globals: GlobalOptions): Promise<void> {
  const { watch } = await import('chokidar');
  let target: WatchTarget = { project: session.project, order: session.order };
  let scope = watchScope(target);
  const note = (text: string) => { if (!globals.quiet) process.stderr.write(text + '\n'); };

  const watcher = watch(scope.roots.map((r) => path.resolve(target.project.root, r)), {
    ignoreInitial: true,
    ignored: (abs: string) => scope.isIgnored(relative(target.project.root, abs)),
    awaitWriteFinish: { stabilityThreshold: 80, pollInterval: 20 },
  });
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  const watched = scope.roots.filter((r) => !scope.isIgnored(r));
  if (globals.json) process.stdout.write(JSON.stringify({ type: 'watching', paths: watched }) + '\n');
  note(`watching ${describe(watched)} for changes; Ctrl-C to stop`);

  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let busy: Promise<void> | undefined;

  const handle = async (changed: string[]) => {
    if (changed.some((c) => scope.reloadsOn(c))) {
      const next = await reloaded(session, note);
      if (!next) return;
      const before = scope.roots;
      target = next;
      scope = watchScope(target);
      rewatch(watcher, target.project.root, before, scope.roots);
      note(`${summarize(changed)} changed: reloaded, ${target.order.length} stage(s)`);
      await session.run(target, target.order);
      return;
    }
    const direct = scope.stagesUsing(changed);
    if (direct.length === 0) return;
    const stages = affectedPart(target.order, target.project.graph.upstream, direct);
    note(`changed: ${summarize(changed)} → ${direct.length === 1 ? direct[0] : `${direct.length} stages`} and what depends on it`);
    await session.run(target, stages);
  };
  const drain = async () => {
    while (pending.size > 0 && !signal.aborted) {
      const changed = [...pending].sort();
      pending.clear();
      await handle(changed).catch((err: unknown) => note(`pipe: ${err instanceof Error ? err.message : String(err)}`));
    }
    busy = undefined;
  };
  watcher.on('all', (_event, abs) => {
    const rel = relative(target.project.root, abs);
    if (scope.isIgnored(rel) || !scope.isRelevant(rel)) return;
    pending.add(rel);
    if (busy) return; // picked up when the running stages finish
    clearTimeout(timer);
    timer = setTimeout(() => { busy ??= drain(); }, DEBOUNCE_MS);
  });
  watcher.on('error', (err) => note(`pipe: watch: ${err instanceof Error ? err.message : String(err)}`));

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearTimeout(timer);
  await watcher.close();
  await busy;
}

async function reloaded(session: WatchSession, note: (text: string) => void): Promise<WatchTarget | undefined> {
  try {
    return await session.reload();
  } catch (err) {
    note(`pipe: ${err instanceof Error ? err.message : String(err)}`);
    note('the pipeline file has errors; still watching (fix it and save again)');
    return undefined;
  }
}

interface WatchScope {
  /** project-relative paths handed to chokidar */
  roots: string[];
  /** the pipeline file, its imports, and files a foreach glob would pick up: a change reloads the pipeline */
  reloadsOn(rel: string): boolean;
  isIgnored(rel: string): boolean;
  /** a change to this path can affect a watched stage or the pipeline */
  isRelevant(rel: string): boolean;
  /** the stages with a dep matching one of these paths */
  stagesUsing(changed: string[]): string[];
}

function watchScope({ project, order }: WatchTarget): WatchScope {
  const stages = order.map((n) => project.stages.get(n)!);
  const everyStage = [...project.stages.values()];
  const ignored = [
    '.pipe', '.git',
    ...everyStage.flatMap((s) => s.outs),
    ...everyStage.map((s) => s.log).filter((l): l is string => !!l),
  ];
  const isIgnored = (rel: string) => ignored.some((p) => rel === p || rel.startsWith(p + '/'));
  const pipelineFiles = new Set(pipelineSources(project));
  const itemGlobs = foreachGlobs(project);
  const isItem = depMatcher(itemGlobs);
  const reloadsOn = (rel: string) => pipelineFiles.has(rel) || isItem(rel);
  const matchers = stages.map((s) => ({ name: s.name, matches: depMatcher(s.deps) }));
  const deps = stages.flatMap((s) => s.deps);
  return {
    roots: [...new Set([...deps.map(watchRoot), ...itemGlobs.map(watchRoot), ...pipelineFiles])],
    reloadsOn,
    isIgnored,
    isRelevant: (rel) => reloadsOn(rel) || matchers.some((m) => m.matches(rel)),
    stagesUsing: (changed) => matchers.filter((m) => changed.some((c) => m.matches(c))).map((m) => m.name),
  };
}

/** The pipeline file and the files it imports (project-relative). */
function pipelineSources(project: Project): string[] {
  return [relative(project.root, project.file), ...project.imports];
}

/** The globs `foreach` stages expand (`-m 'in/*.mp4'`): a new or removed film changes the stages. */
function foreachGlobs(project: Project): string[] {
  const vars = new Set([...project.stages.values()].map((s) => s.foreach).filter((v): v is string => !!v));
  return [...vars].flatMap((name) => {
    const value = project.pipeline.vars[name];
    return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && isGlob(v));
  });
}

/** What to hand chokidar for a dep: a glob's static folder, a path itself. */
function watchRoot(dep: string): string {
  if (!isGlob(dep)) return dep;
  return picomatch.scan(dep).base || '.';
}

function depMatcher(deps: string[]): (rel: string) => boolean {
  const tests = deps.map((d) => (isGlob(d) ? picomatch(d, { dot: true }) : (rel: string) => rel === d || rel.startsWith(d + '/') || d === '.'));
  return (rel) => tests.some((t) => t(rel));
}

function rewatch(watcher: FSWatcher, root: string, before: string[], after: string[]): void {
  const gone = before.filter((r) => !after.includes(r));
  const added = after.filter((r) => !before.includes(r));
  if (gone.length) watcher.unwatch(gone.map((r) => path.resolve(root, r)));
  if (added.length) watcher.add(added.map((r) => path.resolve(root, r)));
}

function relative(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/') || '.';
}

function describe(roots: string[]): string {
  return roots.length <= 3 ? roots.join(', ') : `${roots.slice(0, 3).join(', ')} and ${roots.length - 3} more`;
}

function summarize(changed: string[]): string {
  return changed.length <= 3 ? changed.join(', ') : `${changed.slice(0, 3).join(', ')} and ${changed.length - 3} more`;
}
