/** Targets (stage names, groups, foreach templates, globs) → the stages to bring up to date. */
import { picomatch } from '../util/lazy.js';
import { isGlob } from '../spec/paths.js';
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';

export interface Selectable {
  names: string[];
  groups: Record<string, string[]>;
  /** stage name -> foreach template name */
  templates: Record<string, string>;
  upstream: Record<string, string[]>;
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
    const matched = namesFor(target, g);
    if (matched.length === 0 && !isDeclaredElsewhere(target, g)) {
      const candidates = [...g.names, ...Object.keys(g.groups), ...new Set(Object.values(g.templates))];
      throw new UserError(`unknown target '${target}'${didYouMean(target, candidates)}; see 'pipe list'`);
    }
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

/** A group member may name a stage that exists only under another profile (`when`); that selects nothing. */
function isDeclaredElsewhere(target: string, g: Selectable): boolean {
  return Object.values(g.groups).some((members) => members.includes(target));
}

/** The targets and everything upstream of them, in the graph's topological order. */
export function withUpstream(targets: string[], g: Selectable): string[] {
  const needed = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    if (Object.hasOwn(g.upstream, name)) for (const u of g.upstream[name]!) stack.push(u);
  }
  return g.names.filter((n) => needed.has(n));
}

export function defaultTargets(g: Selectable): string[] {
  if (Object.hasOwn(g.groups, 'default')) return ['default'];
  const hasDownstream = new Set<string>();
  for (const name of g.names) for (const u of g.upstream[name] ?? []) hasDownstream.add(u);
  return g.names.filter((n) => !hasDownstream.has(n));
}
