/**
 * The stored form of a compiled pipeline (.pipe/compiled/*.json), smaller and quicker to parse than the
 * pipeline as loaded: a dry run of 100,000 stages spent most of its time in JSON.parse of that entry.
 * - a stage field that holds its default (no params, needs or env, one cpu) is stored as 0, in its place,
 *   so the stage keeps its key order when it is put back; a location in the main file as [line, col];
 * - the graph as stage indices (order, and each stage's upstream), not names repeated per edge.
 * 0 is never a valid value of those fields, so a stored stage reads back exactly as it was loaded.
 */
import type { StageGraph } from './graph/build.js';
import type { Pipeline, SourceLocation, Stage } from './pipeline/types.js';

interface PackedGraph {
  /** indices into pipeline.stages, upstream first */
  order: number[];
  /** per stage (declaration index): the indices of the stages it directly depends on */
  upstream: number[][];
}

/** The default `resources` of a stage; packed only when equal to it. */
const ONE_CPU = { cpu: 1, gpu: 0, mem: 0 } as const;

export interface Unpacked {
  pipeline: Pipeline;
  graph: StageGraph;
}

/** What is stored for `pipeline` and `graph`: every other part of an entry is stored as it is. */
export function packPipeline(pipeline: Pipeline, graph: StageGraph): { locFile: string; pipeline: unknown; graph: PackedGraph } {
  const locFile = pipeline.stages[0]?.loc.file ?? '';
  const index = new Map<string, number>();
  pipeline.stages.forEach((s, i) => index.set(s.name, i));
  const upstream: number[][] = pipeline.stages.map((s) => (graph.upstream[s.name] ?? []).map((u) => index.get(u)!));
  const packed = { order: graph.order.map((name) => index.get(name)!), upstream };
  return { locFile, pipeline: { ...pipeline, stages: pipeline.stages.map((s) => packStage(s, locFile)) }, graph: packed };
}

/** One stage as stored: its defaults as 0, its location in the main file as [line, col]. */
export function packStage(s: Stage, locFile: string): unknown {
  return {
    ...s,
    params: isEmptyRecord(s.params) ? 0 : s.params,
    needs: s.needs.length === 0 ? 0 : s.needs,
    env: isEmptyRecord(s.env) ? 0 : s.env,
    resources: isOneCpu(s.resources) ? 0 : s.resources,
    loc: s.loc.file === locFile ? [s.loc.line, s.loc.col] : s.loc,
  };
}

/** The pipeline and graph of a parsed entry (its stage objects are completed in place), or undefined when it is not of this shape. */
export function unpackPipeline(value: { locFile?: unknown; pipeline?: unknown; graph?: unknown }): Unpacked | undefined {
  const { locFile, pipeline, graph } = value;
  if (typeof locFile !== 'string' || !isRecord(pipeline) || !Array.isArray(pipeline.stages) || !isPackedGraph(graph, pipeline.stages.length)) return undefined;
  const stages: unknown[] = pipeline.stages;
  for (const s of stages) if (!unpackStage(s, locFile)) return undefined;
  const names = (stages as Stage[]).map((s) => s.name);
  const upstream: Record<string, string[]> = Object.create(null);
  for (const i of graph.order) upstream[names[i]!] = graph.upstream[i]!.map((u) => names[u]!);
  return { pipeline: pipeline as unknown as Pipeline, graph: { order: graph.order.map((i) => names[i]!), upstream } };
}

function unpackStage(s: unknown, locFile: string): s is Stage {
  if (!isRecord(s) || typeof s.name !== 'string') return false;
  if (s.params === 0) s.params = {};
  if (s.needs === 0) s.needs = [];
  if (s.env === 0) s.env = {};
  if (s.resources === 0) s.resources = { ...ONE_CPU };
  if (Array.isArray(s.loc)) s.loc = { file: locFile, line: s.loc[0], col: s.loc[1] } satisfies SourceLocation;
  return isRecord(s.params) && Array.isArray(s.needs) && isRecord(s.env) && isRecord(s.resources) && isRecord(s.loc)
    && Array.isArray(s.deps) && Array.isArray(s.outs);
}

function isPackedGraph(value: unknown, stageCount: number): value is PackedGraph {
  if (!isRecord(value) || !Array.isArray(value.order) || !Array.isArray(value.upstream)) return false;
  const isIndex = (i: unknown) => Number.isInteger(i) && (i as number) >= 0 && (i as number) < stageCount;
  return value.order.length === stageCount && value.upstream.length === stageCount && value.order.every(isIndex)
    && value.upstream.every((u) => Array.isArray(u) && u.every(isIndex));
}

function isEmptyRecord(value: Record<string, unknown>): boolean {
  for (const _ in value) return false;
  return true;
}

function isOneCpu(r: Stage['resources']): boolean {
  return Object.keys(r).length === 3 && r.cpu === ONE_CPU.cpu && r.gpu === ONE_CPU.gpu && r.mem === ONE_CPU.mem;
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
