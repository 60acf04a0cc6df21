/**
 * pipe run --watch: after a run, watch the deps of the selected stages and rerun what a change affects.
 * Ignores .pipe/, declared outputs and logs, so a run never triggers itself; changes during a run are
 * collected and handled after it.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import type { Project } from '../project.js';
import { isGlob } from '../spec/paths.js';
import type { GlobalOptions } from './options.js';

const DEBOUNCE_MS = 300;

export async function watchAndRerun(
  project: Project,
  order: string[],
  rerun: (stages: string[]) => Promise<number>,
  signal: AbortSignal,
  globals: GlobalOptions,
): Promise<void> {
  const { watch } = await import('chokidar');
  const stages = order.map((n) => project.stages.get(n)!);
  const outputs = stages.flatMap((s) => s.outs);
  const logs = stages.map((s) => s.log).filter((l): l is string => !!l);
  const ignoredPaths = [...outputs, ...logs, '.pipe'];
  const isIgnored = (rel: string) => ignoredPaths.some((p) => rel === p || rel.startsWith(p + '/'));
  const watched = watchRoots(stages.flatMap((s) => s.deps).concat(path.relative(project.root, project.file)));
  const matchers = stages.map((s) => ({ name: s.name, matches: depMatcher(s.deps) }));

  const watcher = watch(watched.map((w) => path.join(project.root, w)), {
    ignoreInitial: true,
    ignored: (p: string) => isIgnored(path.relative(project.root, p).split(path.sep).join('/')),
    awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 50 },
  });
  const note = (text: string) => { if (!globals.json && !globals.quiet) process.stderr.write(text + '\n'); };
  note(`watching ${watched.length} path(s) for changes; Ctrl-C to stop`);

  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changed = [...pending];
      pending = new Set();
      running = running.then(() => runAffected(changed));
    }, DEBOUNCE_MS);
  };
  const runAffected = async (changed: string[]) => {
    if (signal.aborted || changed.length === 0) return;
    const direct = matchers.filter((m) => changed.some((c) => m.matches(c))).map((m) => m.name);
    if (direct.length === 0) return;
    const affected = downstreamOf(project, order, direct);
    note(`changed: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ' …' : ''} → ${affected.length} stage(s)`);
    await rerun(affected);
  };
  watcher.on('all', (_event, file) => {
    const rel = path.relative(project.root, file).split(path.sep).join('/');
    if (isIgnored(rel)) return;
    pending.add(rel);
    schedule();
  });
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  clearTimeout(timer);
  await watcher.close();
  await running;
}

/** Folders to watch: a glob's static prefix, a path itself. */
function watchRoots(deps: string[]): string[] {
  const roots = deps.map((d) => {
    if (!isGlob(d)) return d;
    const scan = picomatch.scan(d);
    return scan.base || '.';
  });
  return [...new Set(roots)];
}

function depMatcher(deps: string[]): (rel: string) => boolean {
  const tests = deps.map((d) => (isGlob(d) ? picomatch(d, { dot: true }) : (rel: string) => rel === d || rel.startsWith(d + '/')));
  return (rel) => tests.some((t) => t(rel));
}

/** The changed stages and everything downstream of them, within the watched selection, upstream first. */
function downstreamOf(project: Project, order: string[], changed: string[]): string[] {
  const hit = new Set(changed);
  for (const name of order) {
    if ((project.graph.upstream[name] ?? []).some((u) => hit.has(u))) hit.add(name);
  }
  // their upstream must be checked too (cheap when fresh), so the rerun is a normal incremental run
  const needed = new Set<string>();
  const stack = [...hit];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    stack.push(...(project.graph.upstream[n] ?? []));
  }
  return order.filter((n) => needed.has(n));
}
