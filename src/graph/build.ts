/** Pipeline → DAG: edges from deps that fall inside another stage's outs, and from `needs`. */
import picomatch from 'picomatch';
import { isGlob } from '../pipeline/paths.js';
import type { Pipeline, Stage } from '../pipeline/types.js';
import { PipelineError, PipelineErrors } from '../util/errors.js';

export interface StageGraph {
  /** stage names in a topological order (upstream first) */
  order: string[];
  /** stage name -> the stages it directly depends on */
  upstream: Record<string, string[]>;
}

/**
 * Every walk here is a loop over an explicit stack or queue, never recursion: a chain of 100,000 stages
 * must not overflow the call stack. Maps (not plain objects) hold names, so `__proto__` is a name like any other.
 */
export function buildGraph(pipeline: Pipeline): StageGraph {
  rejectSelfDeps(pipeline.stages);
  const producers = indexOutputs(pipeline.stages);
  const inbound = new Map<string, Set<string>>();
  for (const stage of pipeline.stages) inbound.set(stage.name, new Set());
  for (const stage of pipeline.stages) {
    const into = inbound.get(stage.name)!;
    for (const producer of producersOf(stage, producers)) into.add(producer);
    for (const need of stage.needs) if (inbound.has(need)) into.add(need);
  }
  const order = topologicalOrder(inbound);
  if (order.length < inbound.size) throw cycleError(inbound, new Set(order), pipeline);
  const upstream: Record<string, string[]> = Object.create(null);
  for (const name of order) upstream[name] = [...inbound.get(name)!];
  return { order, upstream };
}

/** Kahn's algorithm, ties broken by declaration order; the stages on or behind a cycle are left out. */
function topologicalOrder(inbound: Map<string, Set<string>>): string[] {
  const outbound = outboundOf(inbound);
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  for (const [name, from] of inbound) {
    waiting.set(name, from.size);
    if (from.size === 0) ready.push(name);
  }
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const name = ready[i]!;
    order.push(name);
    for (const next of outbound.get(name)!) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return order;
}

function outboundOf(inbound: Map<string, Set<string>>): Map<string, string[]> {
  const outbound = new Map<string, string[]>();
  for (const name of inbound.keys()) outbound.set(name, []);
  for (const [name, from] of inbound) for (const u of from) outbound.get(u)!.push(name);
  return outbound;
}

interface OutputIndex {
  /** out path -> producing stage */
  exact: Map<string, string>;
  /** every folder above an out -> the stages with outs below it */
  below: Map<string, Set<string>>;
  all: string[];
}

function indexOutputs(stages: Stage[]): OutputIndex {
  const index: OutputIndex = { exact: new Map(), below: new Map(), all: [] };
  const errors: PipelineError[] = [];
  const byName = new Map(stages.map((s) => [s.name, s]));
  for (const stage of stages) {
    for (const out of stage.outs) {
      const owner = index.exact.get(out);
      if (owner && owner !== stage.name) {
        errors.push(clash(stage, `output '${out}' is also declared by stage '${owner}' (${where(byName.get(owner)!)})`));
        continue;
      }
      index.exact.set(out, stage.name);
      index.all.push(out);
      for (const folder of ancestors(out)) {
        const set = index.below.get(folder) ?? new Set();
        set.add(stage.name);
        index.below.set(folder, set);
      }
    }
  }
  for (const stage of stages) {
    for (const out of stage.outs) {
      const outer = ancestors(out).map((a) => index.exact.get(a)).find((o) => o !== undefined && o !== stage.name);
      if (outer) errors.push(clash(stage, `output '${out}' lies inside an output of stage '${outer}' (${where(byName.get(outer)!)})`));
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length) throw new PipelineErrors(errors);
  return index;
}

function producersOf(stage: Stage, index: OutputIndex): Set<string> {
  const producers = new Set<string>();
  for (const dep of stage.deps) {
    if (isGlob(dep)) {
      const matches = picomatch(dep, { dot: true });
      for (const out of index.all) if (matches(out)) producers.add(index.exact.get(out)!);
      continue;
    }
    const exact = index.exact.get(dep);
    if (exact) producers.add(exact);
    for (const folder of ancestors(dep)) {
      const owner = index.exact.get(folder);
      if (owner) producers.add(owner);
    }
    for (const owner of index.below.get(dep) ?? []) producers.add(owner);
  }
  producers.delete(stage.name);
  return producers;
}

function ancestors(p: string): string[] {
  const parts = p.split('/');
  const result: string[] = [];
  for (let i = 1; i < parts.length; i++) result.push(parts.slice(0, i).join('/'));
  return result;
}

function cycleError(inbound: Map<string, Set<string>>, ordered: Set<string>, pipeline: Pipeline): PipelineError {
  const cycle = findCycle(inbound, ordered);
  const first = pipeline.stages.find((s) => s.name === cycle[0])!;
  return new PipelineError(first.loc.file, first.loc.line, first.loc.col,
    `dependency cycle: ${describeCycle(cycle)}`);
}

const CYCLE_SHOWN = 12;

/** `a -> b -> a`; a cycle through thousands of stages is shortened to its ends and its length. */
function describeCycle(cycle: string[]): string {
  const closed = [...cycle, cycle[0]!];
  if (closed.length <= CYCLE_SHOWN) return closed.join(' -> ');
  const half = CYCLE_SHOWN / 2;
  return `${closed.slice(0, half).join(' -> ')} -> ... (${cycle.length - CYCLE_SHOWN + 1} more) -> ${closed.slice(-half).join(' -> ')} (${cycle.length} stages)`;
}

/**
 * One cycle among the stages Kahn's algorithm could not order. Each of them has an upstream stage that is
 * also unordered, so following upstream links from any of them must come back to a stage already seen.
 */
function findCycle(inbound: Map<string, Set<string>>, ordered: Set<string>): string[] {
  const start = [...inbound.keys()].find((n) => !ordered.has(n))!;
  const seenAt = new Map<string, number>();
  const path: string[] = [];
  let node = start;
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    node = [...inbound.get(node)!].find((u) => !ordered.has(u))!;
  }
  // the path ran upstream: reverse it so the message reads in the direction data flows, from the first declared
  const cycle = path.slice(seenAt.get(node)).reverse();
  const onCycle = new Set(cycle);
  const firstDeclared = cycle.indexOf([...inbound.keys()].find((n) => onCycle.has(n))!);
  return [...cycle.slice(firstDeclared), ...cycle.slice(0, firstDeclared)];
}

/** A stage reading its own output would never be up to date (what it writes changes what it read). */
function rejectSelfDeps(stages: Stage[]): void {
  for (const stage of stages) {
    for (const dep of stage.deps) {
      const own = isGlob(dep) ? undefined : stage.outs.find((out) => dep === out || dep.startsWith(`${out}/`));
      if (own !== undefined) throw clash(stage, `dep '${dep}' is ${own === dep ? 'also' : 'inside'} its own output '${own}'; a stage cannot depend on what it writes`);
    }
  }
}

function clash(stage: Stage, detail: string): PipelineError {
  return new PipelineError(stage.loc.file, stage.loc.line, stage.loc.col, `stage '${stage.name}': ${detail}`);
}

function where(stage: Stage): string {
  return `${stage.loc.file}:${stage.loc.line}:${stage.loc.col}`;
}
