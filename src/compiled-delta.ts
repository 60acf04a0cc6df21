/**
 * A compiled entry written as its differences from an earlier full entry (its base), so that an edit of one
 * stage of a large pipeline writes a few hundred bytes, not the whole compiled pipeline again (at 100,000
 * stages writing it was a quarter of the recompile). A delta holds everything of the entry but the stages
 * and the graph, which are the base's with some stages replaced and some moved down or up by whole lines
 * (an edit that adds lines moves every stage below it). It is written only when the graph is the base's
 * (incremental-compile.ts, earlierGraph) and the stages are the base's in number; its base is always a full
 * entry, so reading one reads at most two files. Too many differences and a full entry is written instead.
 * The same holds for the sections an incremental compile reuses (one [name, digest, definition] per stage).
 */
import { packStage } from './compiled-format.js';
import type { Stage } from './pipeline/types.js';

/** Past this many replaced stages or moved runs (or a twentieth of the stages, when more), a full entry is written. */
const MAX_CHANGES = 256;

/** What a new entry needs to be written as a delta over the full entry an earlier one came from. */
export interface Lineage {
  /** the full entry's file name (in the same folder) and the digest on its first line */
  base: string;
  digest: string;
  locFile: string;
  /** per stage, as the base stores it: its location ([line, col], or a location object) and its needs (0 or a list) */
  locs: unknown[];
  needs: unknown[];
  /** the stages the earlier entry replaced (a delta's own), which stay replaced */
  replaced: ReadonlySet<number>;
}

export interface StageDelta {
  base: string;
  digest: string;
  /** [index, the stage as packed] */
  stages: [number, unknown][];
  /** [first index, count, lines]: those stages sit `lines` lines lower (or higher) than in the base */
  moved: [number, number, number][];
}

/** For sections: [index, entry] over the base's list. */
export interface ListDelta {
  base: string;
  digest: string;
  entries: [number, unknown][];
}

type PackedStage = Record<string, unknown> & { loc: unknown; needs: unknown };

/** What a full entry's packed stages lend to a delta written over it (taken before they are unpacked in place). */
export function lineageOf(base: string, digest: string, locFile: string, packed: PackedStage[], replaced: ReadonlySet<number> = new Set()): Lineage {
  return {
    base, digest, locFile, replaced,
    locs: packed.map((s) => s.loc),
    needs: packed.map((s) => (Array.isArray(s.needs) ? [...s.needs] : s.needs)),
  };
}

/** The base's packed stages with the delta applied (in place); undefined when the delta does not fit them. */
export function applyStageDelta(stages: PackedStage[], delta: StageDelta): PackedStage[] | undefined {
  for (const [first, count, lines] of delta.moved) {
    if (!isIndex(first, stages.length) || !Number.isInteger(count) || count < 1 || first + count > stages.length || !Number.isInteger(lines)) return undefined;
    for (let i = first; i < first + count; i++) {
      const loc = stages[i]!.loc;
      if (!Array.isArray(loc) || typeof loc[0] !== 'number') return undefined;
      stages[i]!.loc = [loc[0] + lines, loc[1]];
    }
  }
  for (const [i, stage] of delta.stages) {
    if (!isIndex(i, stages.length) || typeof stage !== 'object' || stage === null) return undefined;
    stages[i] = stage as PackedStage;
  }
  return stages;
}

export function applyListDelta(list: unknown[], delta: ListDelta): unknown[] | undefined {
  for (const [i, entry] of delta.entries) {
    if (!isIndex(i, list.length)) return undefined;
    list[i] = entry;
  }
  return list;
}

/**
 * The new stages as a delta over the lineage's base, or undefined when a full entry is the better write.
 * A stage is the base's when it is the very object the earlier entry lent (incremental-compile.ts) and was
 * not replaced there: lent stages differ from their definition in the base only by where they are and by
 * their needs (resolved again over all stages), which are compared here.
 */
export function stageDelta(stages: Stage[], earlier: Stage[], lineage: Lineage, locFile: string): StageDelta | undefined {
  const n = stages.length;
  if (n !== lineage.locs.length || n !== earlier.length || locFile !== lineage.locFile) return undefined;
  const limit = Math.max(MAX_CHANGES, Math.floor(n / 20));
  const replaced: [number, unknown][] = [];
  const moved: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    const s = stages[i]!;
    const lines = s === earlier[i] && !lineage.replaced.has(i) ? linesMoved(s, lineage.locs[i], lineage.needs[i], locFile) : undefined;
    if (lines === undefined) replaced.push([i, packStage(s, locFile)]);
    else if (lines !== 0) {
      const last = moved[moved.length - 1];
      if (last && last[0] + last[1] === i && last[2] === lines) last[1]++;
      else moved.push([i, 1, lines]);
    }
    if (replaced.length > limit || moved.length > limit) return undefined;
  }
  return { base: lineage.base, digest: lineage.digest, stages: replaced, moved };
}

/** How many lines the stage moved from its base location, or undefined when it differs otherwise. */
function linesMoved(s: Stage, baseLoc: unknown, baseNeeds: unknown, locFile: string): number | undefined {
  if (!Array.isArray(baseLoc) || s.loc.file !== locFile || s.loc.col !== baseLoc[1]) return undefined;
  const needs = baseNeeds === 0 ? [] : baseNeeds;
  if (!Array.isArray(needs) || needs.length !== s.needs.length || needs.some((need, k) => need !== s.needs[k])) return undefined;
  return s.loc.line - (baseLoc[0] as number);
}

/** The entries of `list` that differ from `earlier` (or were replaced there) as a delta, or undefined when too many do. */
export function listDelta(list: unknown[], earlier: unknown[], same: (a: unknown, b: unknown) => boolean, base: { base: string; digest: string; replaced: ReadonlySet<number> }): ListDelta | undefined {
  if (list.length !== earlier.length) return undefined;
  const limit = Math.max(MAX_CHANGES, Math.floor(list.length / 20));
  const entries: [number, unknown][] = [];
  for (let i = 0; i < list.length; i++) {
    if (!base.replaced.has(i) && same(list[i], earlier[i])) continue;
    entries.push([i, list[i]]);
    if (entries.length > limit) return undefined;
  }
  return { base: base.base, digest: base.digest, entries };
}

export function isStageDelta(value: unknown): value is StageDelta {
  const d = value as Partial<StageDelta> | null;
  return typeof d === 'object' && d !== null && typeof d.base === 'string' && typeof d.digest === 'string'
    && Array.isArray(d.stages) && d.stages.every((e) => Array.isArray(e) && e.length === 2)
    && Array.isArray(d.moved) && d.moved.every((m) => Array.isArray(m) && m.length === 3);
}

export function isListDelta(value: unknown): value is ListDelta {
  const d = value as Partial<ListDelta> | null;
  return typeof d === 'object' && d !== null && typeof d.base === 'string' && typeof d.digest === 'string'
    && Array.isArray(d.entries) && d.entries.every((e) => Array.isArray(e) && e.length === 2);
}

function isIndex(i: unknown, length: number): i is number {
  return Number.isInteger(i) && (i as number) >= 0 && (i as number) < length;
}
