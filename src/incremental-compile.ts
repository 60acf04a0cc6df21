/**
 * Incremental compile: after an edit of the pipeline file, the stages whose definition (their lines of the
 * text) did not change are taken from the latest compiled entry made from the same header, and only the
 * changed ones are parsed, checked and compiled. The header (every line outside the stages' definitions),
 * the --set values, the project root and the build are the key: when any differs, everything is compiled.
 * Cross-stage checks (needs, groups, pools, output clashes, cycles) always run over the whole pipeline.
 */
import { hash } from 'node:crypto';
import { fastYamlValue } from './pipeline/fast-yaml.js';
import { setOwn } from './util/own-key.js';
import type { Reuse } from './pipeline/load.js';
import { stageSections, type Sections } from './pipeline/sections.js';
import type { Stage } from './pipeline/types.js';
import type { StageGraph } from './graph/build.js';

/** Stored with a compiled entry: its header key, and [name, digest of its text, its definition] per stage. */
export interface CompiledSections {
  key: string;
  stages: [string, string, unknown][];
}

export interface CurrentSections {
  key: string;
  sections: Sections;
  digests: string[];
  /** what to store with the compiled entry, given each stage's definition as loaded */
  withRaw(raw: Record<string, unknown>): CompiledSections | undefined;
}

interface EarlierCompile {
  sections?: CompiledSections;
  pipeline: { stages: Stage[] };
}

export function compiledSections(text: string, sets: Record<string, unknown>, salt: string): CurrentSections | undefined {
  const sections = stageSections(text);
  if (!sections) return undefined;
  const key = hash('sha256', `${sections.before}\n\0${sections.after}\0${JSON.stringify(sets)}\0${salt}`, 'hex').slice(0, 32);
  const digests = sections.stages.map((s) => hash('sha256', s.text, 'base64'));
  const withRaw = (raw: Record<string, unknown>): CompiledSections | undefined => {
    if (Object.keys(raw).length !== sections.stages.length) return undefined;
    const stages = sections.stages.map((s, i): [string, string, unknown] => [s.name, digests[i]!, Object.hasOwn(raw, s.name) ? raw[s.name] : undefined]);
    return stages.every(([, , r]) => r !== undefined) ? { key, stages } : undefined;
  };
  return { key, sections, digests, withRaw };
}

/** The document's value with only the changed stages parsed, and the earlier instances of the others. */
export function reusable(earlier: EarlierCompile, current: CurrentSections, text: string): Reuse | undefined {
  if (!earlier.sections || earlier.sections.key !== current.key) return undefined;
  const before = new Map(earlier.sections.stages.map(([name, digest, raw]) => [name, { digest, raw }]));
  const same = current.sections.stages.map((s, i) => before.get(s.name)?.digest === current.digests[i]);
  if (!same.includes(true)) return undefined;
  const changed = current.sections.stages.filter((_, i) => !same[i]);
  const partial = fastYamlValue([current.sections.before, ...changed.map((s) => s.text), current.sections.after].join('\n'));
  if (!isMap(partial)) return undefined;
  const parsed = changed.length ? partial.stages : {};
  if (!isMap(parsed)) return undefined;
  const instances = byTemplate(earlier.pipeline.stages);
  const stages: Record<string, unknown> = {};
  const unchanged = new Map<string, Stage[]>();
  current.sections.stages.forEach((s, i) => {
    const raw = same[i] ? before.get(s.name)!.raw : parsed[s.name];
    setOwn(stages, s.name, raw);
    if (same[i]) unchanged.set(s.name, instances.get(s.name) ?? []);
  });
  return { text, value: { ...partial, stages }, unchanged };
}

/**
 * The earlier compile's graph, when it was made from the same edges: the graph (and whether it has a cycle or an
 * output clash) is a function of the stages' names in order and their deps, outs and needs alone.
 */
export function earlierGraph(earlier: EarlierCompile & { graph: StageGraph }, stages: Stage[]): StageGraph | undefined {
  const before = earlier.pipeline.stages;
  if (before.length !== stages.length) return undefined;
  for (let i = 0; i < stages.length; i++) {
    const a = before[i]!;
    const b = stages[i]!;
    if (a !== b && (a.name !== b.name || !sameList(a.deps, b.deps) || !sameList(a.outs, b.outs))) return undefined;
    if (!sameList(a.needs, b.needs)) return undefined;
  }
  return earlier.graph;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function byTemplate(stages: Stage[]): Map<string, Stage[]> {
  const map = new Map<string, Stage[]>();
  for (const stage of stages) {
    const key = stage.template ?? stage.name;
    const list = map.get(key);
    if (list) list.push(stage);
    else map.set(key, [stage]);
  }
  return map;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
