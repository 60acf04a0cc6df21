/**
 * Targets (stage names, groups, foreach templates, globs over names, or output paths as in make) → the
 * stages to bring up to date.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { picomatch } from '../util/lazy.js';
import { isGlob } from '../pipeline/paths.js';
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';

export interface Selectable {
  names: string[];
  groups: Record<string, string[]>;
  /** stage name -> foreach template name */
  templates: Record<string, string>;
  upstream: Record<string, string[]>;
  /** stage name -> its declared outputs (project-relative), so a target may name a file a stage produces */
  outs?: Record<string, readonly string[]>;
  /** the project root, for output paths given relative to the current folder */
  root?: string;
}

/** The named stages themselves (no upstream). Groups are expanded with an explicit stack (they may nest deeply). */
export function matchTargets(targets: string[], g: Selectable): string[] {
  const chosen = new Set<string>();
  const expandedGroups = new Set<string>();
  const stack = [...targets].reverse();
  while (stack.length) {
    const target = stack.pop()!;
    const group = Object.hasOwn(g.groups, target) ? g.groups[target] : undefined;
    if (group) {
      if (!expandedGroups.has(target)) for (let i = group.length - 1; i >= 0; i--) stack.push(group[i]!);
      expandedGroups.add(target);
      continue;
    }
    let matched = namesFor(target, g);
    if (matched.length === 0) matched = producersOf(target, g);
    if (matched.length === 0 && !isDeclaredElsewhere(target, g)) throw unknownTarget(target, g);
    for (const name of matched) chosen.add(name);
  }
  return g.names.filter((n) => chosen.has(n));
}

function namesFor(target: string, g: Selectable): string[] {
  if (Object.hasOwn(g.upstream, target)) return [target];
  const instances = g.names.filter((n) => g.templates[n] === target);
  if (instances.length) return instances;
  if (isGlob(target)) {
    const matches = picomatch()(target, { dot: true });
    return g.names.filter((n) => matches(n));
  }
  return [];
}

/** The stages whose outputs are the path, or hold it (a file inside an output folder); or match a glob over paths. */
function producersOf(target: string, g: Selectable): string[] {
  if (!g.outs) return [];
  const byOutput = outputIndex(g);
  if (isGlob(target)) {
    const matches = picomatch()(target.replace(/^\.\//, ''), { dot: true });
    return [...new Set([...byOutput].filter(([out]) => matches(out)).map(([, stage]) => stage))];
  }
  for (const rel of projectRelative(target, g.root)) {
    for (let p = rel; p !== '.' && p !== '' && !p.startsWith('..'); p = path.posix.dirname(p)) {
      const stage = byOutput.get(p);
      if (stage !== undefined) return [stage];
    }
  }
  return [];
}

/** The target as written (relative to the project root), and relative to the current folder when that is inside the project. */
function projectRelative(target: string, root: string | undefined): string[] {
  const asWritten = path.posix.normalize(target.replace(/\\/g, '/')).replace(/\/+$/, '');
  const candidates = [asWritten.replace(/^\.\//, '')];
  if (root) {
    const fromCwd = path.relative(root, path.resolve(process.cwd(), target)).split(path.sep).join('/');
    if (fromCwd && !fromCwd.startsWith('..') && !path.isAbsolute(fromCwd)) candidates.push(fromCwd);
  }
  return [...new Set(candidates)];
}

const outputIndexes = new WeakMap<Selectable, Map<string, string>>();

/** output path -> the stage that declares it; built once, on the first target that is not a name */
function outputIndex(g: Selectable): Map<string, string> {
  let index = outputIndexes.get(g);
  if (!index) {
    index = new Map();
    for (const [stage, outs] of Object.entries(g.outs ?? {})) for (const out of outs) index.set(out.replace(/\/+$/, ''), stage);
    outputIndexes.set(g, index);
  }
  return index;
}

function unknownTarget(target: string, g: Selectable): UserError {
  const names = [...g.names, ...Object.keys(g.groups), ...new Set(Object.values(g.templates))];
  const looksLikePath = target.includes('/') || /\.[A-Za-z0-9]+$/.test(target);
  // a file inside an output folder: 'sortd/A.bam' is close to 'sorted/A.bam', not to 'sorted'
  const outputs = g.outs ? [...outputIndex(g).keys()].flatMap((out) => [out, `${out}/${path.posix.basename(target)}`]) : [];
  const suggestion = didYouMean(target, looksLikePath ? [...outputs, ...names] : [...names, ...outputs]);
  const source = looksLikePath && g.root && existsSync(path.resolve(g.root, target))
    ? `: '${target}' exists, but no stage declares it (or a folder holding it) in its outs`
    : '';
  return new UserError(`unknown target '${target}'${source}${suggestion}; a target is a stage, a group, a glob over names, or an output path (see 'pipe list')`);
}

/** A group member may name a stage that exists only under another profile (`when`); that selects nothing. */
function isDeclaredElsewhere(target: string, g: Selectable): boolean {
  return Object.values(g.groups).some((members) => members.includes(target));
}

/** The targets and everything upstream of them, in the graph's topological order. */
export function withUpstream(targets: string[], g: Selectable): string[] {
  return upstreamClosure(targets, g.names, g.upstream);
}

/** `targets` and everything upstream of them, as a sub-list of `order` (iterative: any depth). */
function upstreamClosure(targets: Iterable<string>, order: string[], upstream: Record<string, string[]>): string[] {
  const needed = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    if (Object.hasOwn(upstream, name)) for (const u of upstream[name]!) stack.push(u);
  }
  return order.filter((n) => needed.has(n));
}

export function defaultTargets(g: Selectable): string[] {
  if (Object.hasOwn(g.groups, 'default')) return ['default'];
  const hasDownstream = new Set<string>();
  for (const name of g.names) {
    const upstream = g.upstream[name];
    if (upstream) for (let i = 0; i < upstream.length; i++) hasDownstream.add(upstream[i]!);
  }
  return g.names.filter((n) => !hasDownstream.has(n));
}

/**
 * What a run without targets brings up to date: the `default` group and its upstream, else every stage.
 * The upstream of all the sinks (defaultTargets) is the whole graph, since every stage of a DAG reaches a
 * sink downstream, so that closure is never walked (at 100,000 stages it cost most of a second).
 */
export function defaultSelection(g: Selectable): string[] {
  if (Object.hasOwn(g.groups, 'default')) return withUpstream(matchTargets(['default'], g), g);
  return [...g.names];
}

/**
 * The stages hit directly, everything downstream of them, and their upstream (checked, and skipped
 * when fresh), so a rerun of a change is an ordinary incremental run of that part of the graph.
 * `order` is upstream first.
 */
export function affectedPart(order: string[], upstream: Record<string, string[]>, direct: string[]): string[] {
  const hit = new Set(direct);
  for (const name of order) {
    if ((upstream[name] ?? []).some((u) => hit.has(u))) hit.add(name);
  }
  return upstreamClosure(hit, order, upstream);
}

/** Running part of the graph: Snakemake's --until, DVC's --downstream, and --from (a stage and what follows it). */
export interface PartOfGraph {
  /** only these stages and what is downstream of them */
  from?: string[];
  /** only these stages and what is upstream of them */
  until?: string[];
  /** the targets and what is downstream of them, not what is upstream */
  downstream?: boolean;
}

export function hasPart(part: PartOfGraph): boolean {
  return !!(part.from?.length || part.until?.length || part.downstream);
}

/**
 * The stages a run with targets and --from/--until/--downstream brings up to date, in topological order.
 * Without targets, the part is cut from the whole graph (not only the default group), so `--from asr` runs
 * asr and everything after it. What is cut off upstream is taken as it was recorded.
 */
export function selectPart(targets: string[], g: Selectable, part: PartOfGraph): string[] {
  const chosen = targets.length ? matchTargets(targets, g) : hasPart(part) ? g.names : matchTargets(defaultTargets(g), g);
  let selected = new Set(part.downstream ? downstreamClosure(chosen, g) : withUpstream(chosen, g));
  if (part.from?.length) selected = intersect(selected, downstreamClosure(matchFlag('--from', part.from, g), g), '--from', part.from);
  if (part.until?.length) selected = intersect(selected, withUpstream(matchFlag('--until', part.until, g), g), '--until', part.until);
  return g.names.filter((n) => selected.has(n));
}

function matchFlag(flag: string, names: string[], g: Selectable): string[] {
  try {
    return matchTargets(names, g);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${flag} ${names.join(' ')}: ${err.message}`, err.exitCode);
    throw err;
  }
}

function intersect(selected: Set<string>, part: string[], flag: string, names: string[]): Set<string> {
  const result = new Set(part.filter((n) => selected.has(n)));
  if (result.size === 0) throw new UserError(`${flag} ${names.join(' ')}: no stage of the selection is ${flag === '--from' ? 'at or downstream of' : 'at or upstream of'} it; check the targets (see 'pipe graph')`);
  return result;
}

/** `names` and everything downstream of them: one pass over the topological order. */
function downstreamClosure(names: string[], g: Selectable): string[] {
  const hit = new Set(names);
  for (const name of g.names) {
    if (!hit.has(name) && (g.upstream[name] ?? []).some((u) => hit.has(u))) hit.add(name);
  }
  return g.names.filter((n) => hit.has(n));
}
