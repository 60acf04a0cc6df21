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
  const stages = pipeline.stages;
  rejectSelfDeps(stages);
  const producers = indexOutputs(stages);
  const index = new Map<string, number>();
  stages.forEach((stage, i) => index.set(stage.name, i));
  const inbound = inboundEdges(stages, producers, index);
  const order = topologicalOrder(inbound);
  const names = stages.map((s) => s.name);
  if (order.length < inbound.length) throw cycleError(namedInbound(names, inbound), new Set(order.map((i) => names[i]!)), pipeline);
  const upstream: Record<string, string[]> = Object.create(null);
  for (const i of order) upstream[names[i]!] = inbound[i]!.map((u) => names[u]!);
  return { order: order.map((i) => names[i]!), upstream };
}

/**
 * Per stage, the indices of the stages it reads from (producers of its deps, in the order of its deps), then
 * its `needs`, each once: addedFor[u] === i when u is already an inbound edge of stage i (no Set per stage).
 */
function inboundEdges(stages: Stage[], producers: OutputIndex, index: Map<string, number>): number[][] {
  const addedFor = new Int32Array(stages.length).fill(-1);
  return stages.map((stage, i) => {
    const into: number[] = [];
    const add = (u: number) => {
      if (addedFor[u] !== i) {
        addedFor[u] = i;
        into.push(u);
      }
    };
    addedFor[i] = i; // reading its own outputs (a glob over them) is no edge
    for (const dep of stage.deps) producersOf(dep, producers, add);
    addedFor[i] = -1; // needing itself is one, and a cycle
    for (const need of stage.needs) {
      const u = index.get(need);
      if (u !== undefined) add(u);
    }
    return into;
  });
}
function namedInbound(names: string[], inbound: number[][]): Map<string, Set<string>> {
  return new Map(names.map((name, i) => [name, new Set(inbound[i]!.map((u) => names[u]!))]));
}

/** Kahn's algorithm over stage indices, ties broken by declaration order; the stages on or behind a cycle are left out. */
function topologicalOrder(inbound: number[][]): number[] {
  const outbound = outboundOf(inbound);
  const waiting = new Int32Array(inbound.length);
  const ready: number[] = [];
  inbound.forEach((from, i) => {
    waiting[i] = from.length;
    if (from.length === 0) ready.push(i);
  });
  for (let r = 0; r < ready.length; r++) {
    for (const next of outbound[ready[r]!]!) if (--waiting[next]! === 0) ready.push(next);
  }
  return ready;
}

function outboundOf(inbound: number[][]): number[][] {
  const outbound: number[][] = inbound.map(() => []);
  inbound.forEach((from, i) => {
    for (const u of from) outbound[u]!.push(i);
  });
  return outbound;
}

interface OutputIndex {
  /** out path -> producing stage */
  exact: Map<string, number>;
  /** every folder above an out -> the stages with outs below it, in declaration order */
  below: Map<string, number[]>;
  /** every out, for glob deps */
  all: string[];
}

function indexOutputs(stages: Stage[]): OutputIndex {
  const index: OutputIndex = { exact: new Map(), below: new Map(), all: [] };
  const errors: PipelineError[] = [];
  stages.forEach((stage, i) => {
    for (const out of stage.outs) {
      const owner = index.exact.get(out);
      if (owner !== undefined && owner !== i) {
        const other = stages[owner]!;
        errors.push(clash(stage, `output '${out}' is also declared by stage '${other.name}' (${where(other)})`));
        continue;
      }
      index.exact.set(out, i);
      index.all.push(out);
      for (let slash = out.indexOf('/'); slash >= 0; slash = out.indexOf('/', slash + 1)) {
        const folder = out.slice(0, slash);
        const list = index.below.get(folder);
        if (!list) index.below.set(folder, [i]);
        else if (list[list.length - 1] !== i) list.push(i); // a stage's outs are indexed together: it is last if already there
      }
    }
  });
  stages.forEach((stage, i) => {
    for (const out of stage.outs) {
      let outer: number | undefined;
      for (let slash = out.indexOf('/'); slash >= 0 && outer === undefined; slash = out.indexOf('/', slash + 1)) {
        const owner = index.exact.get(out.slice(0, slash));
        if (owner !== undefined && owner !== i) outer = owner;
      }
      if (outer !== undefined) {
        const other = stages[outer]!;
        errors.push(clash(stage, `output '${out}' lies inside an output of stage '${other.name}' (${where(other)})`));
      }
    }
  });
  if (errors.length === 1) throw errors[0]!;
  if (errors.length) throw new PipelineErrors(errors);
  return index;
}

/** Calls `add` with each stage whose outputs a dep reads: the output itself, an output folder holding it, the outputs inside it, or what a glob matches. */
function producersOf(dep: string, index: OutputIndex, add: (stage: number) => void): void {
  if (isGlob(dep)) {
    const matches = picomatch(dep, { dot: true });
    for (const out of index.all) if (matches(out)) add(index.exact.get(out)!);
    return;
  }
  const exact = index.exact.get(dep);
  if (exact !== undefined) add(exact);
  for (let slash = dep.indexOf('/'); slash >= 0; slash = dep.indexOf('/', slash + 1)) {
    const owner = index.exact.get(dep.slice(0, slash));
    if (owner !== undefined) add(owner);
  }
  const below = index.below.get(dep);
  if (below) for (const owner of below) add(owner);
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
