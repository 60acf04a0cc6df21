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
import type { RawStage } from './pipeline/schema.js';
import type { Stage } from './pipeline/types.js';
import type { StageGraph } from './graph/build.js';

/** Stored with a compiled entry: its header key, and [name, digest of its text, what a later compile reads of its definition] per stage. */
export interface CompiledSections {
  key: string;
  stages: [string, string, LentDefinition | 0][];
}

/**
 * What the loader reads of a definition whose compiled stages it lends (load.ts: `reused`, `attachPools`,
 * `checkImportedSets`); 0 when none of it is there. Keeping only this made the file a tenth of its size (at
 * 100,000 stages it held every command, dep and output again, and parsing it was a tenth of a recompile).
 * A load that fails with a lent definition is done again in full (project.ts), so errors never depend on it.
 */
export type LentDefinition = Pick<RawStage, 'needs' | 'foreach' | 'pool' | 'cmd'>;

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
    const stages: [string, string, LentDefinition | 0][] = [];
    for (const [i, s] of sections.stages.entries()) {
      const definition = Object.hasOwn(raw, s.name) ? raw[s.name] : undefined;
      if (!isMap(definition)) return undefined;
      stages.push([s.name, digests[i]!, lentPart(definition as RawStage)]);
    }
    return { key, stages };
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
    const raw = same[i] ? before.get(s.name)!.raw || {} : parsed[s.name];
    setOwn(stages, s.name, raw);
    if (same[i]) unchanged.set(s.name, instances.get(s.name) ?? []);
  });
  return { text, value: { ...partial, stages }, unchanged, changed: changed.map((s) => s.name) };
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

/** A command is read again only for the variables it names (checkImportedSets): one naming none is left out. */
function lentPart(definition: RawStage | LentDefinition): LentDefinition | 0 {
  const { needs, foreach, pool, cmd } = definition;
  if (needs === undefined && foreach === undefined && pool === undefined && cmd === undefined) return 0; // most lent ones, already cut
  const part: LentDefinition = {};
  if (needs !== undefined) part.needs = needs;
  if (foreach !== undefined) part.foreach = foreach;
  if (pool !== undefined) part.pool = pool;
  if (cmd !== undefined && (typeof cmd === 'string' ? cmd : cmd.join(' ')).includes('${')) part.cmd = cmd;
  return Object.keys(part).length ? part : 0;
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
