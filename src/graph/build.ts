/** Pipeline → DAG: edges from deps that fall inside another stage's outs, and from `needs`. */
import { DirectedGraph } from 'graphology';
import { hasCycle, topologicalSort } from 'graphology-dag';
import picomatch from 'picomatch';
import { isGlob } from '../spec/paths.js';
import type { Pipeline, Stage } from '../spec/types.js';
import { PipelineError, PipelineErrors } from '../util/errors.js';

export interface StageGraph {
  /** stage names in a topological order (upstream first) */
  order: string[];
  /** stage name -> the stages it directly depends on */
  upstream: Record<string, string[]>;
}

export function buildGraph(pipeline: Pipeline): StageGraph {
  rejectSelfDeps(pipeline.stages);
  const producers = indexOutputs(pipeline.stages);
  const graph = new DirectedGraph();
  for (const stage of pipeline.stages) graph.addNode(stage.name);
  for (const stage of pipeline.stages) {
    for (const producer of producersOf(stage, producers)) graph.mergeEdge(producer, stage.name);
    for (const need of stage.needs) graph.mergeEdge(need, stage.name);
  }
  if (hasCycle(graph)) throw cycleError(graph, pipeline);
  const order = topologicalSort(graph);
  const upstream: Record<string, string[]> = {};
  for (const name of order) upstream[name] = graph.inNeighbors(name);
  return { order, upstream };
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

function cycleError(graph: DirectedGraph, pipeline: Pipeline): PipelineError {
  const cycle = findCycle(graph)!;
  const first = pipeline.stages.find((s) => s.name === cycle[0])!;
  return new PipelineError(first.loc.file, first.loc.line, first.loc.col,
    `dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
}

/** One cycle as a list of stage names, by depth-first search. */
function findCycle(graph: DirectedGraph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.outNeighbors(node)) {
      if (state.get(next) === 'open') return stack.slice(stack.indexOf(next));
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.nodes()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
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
