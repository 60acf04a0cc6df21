/**
 * Opens a project: finds the pipeline file, loads it (spec) and builds its graph, or reuses the compiled
 * result of an earlier identical load from `.pipe/compiled/`, so an up-to-date run never parses YAML.
 * When the file changed, the latest entry compiled from the same header (everything but the stages'
 * definitions, with the same --set values) lends the stages whose definition did not change
 * (incremental-compile.ts): only the edited stages are parsed and compiled again.
 *
 * A compiled entry is `<sha256 of the JSON>\n<JSON>`: one whose digest does not match (edited, torn, written
 * by something else) or whose content is not the shape this build writes is ignored. Beside it,
 * `<entry>.sections` (`<sha256> <header key>\n<JSON>`, checked the same way) holds what an incremental compile
 * reuses, so that a dry run, which reads only the entry, does not parse it. An entry of an incremental compile
 * is written as a delta over the full entry it came from when few stages changed (compiled-delta.ts): its
 * first line then names that base (`<sha256> <base>.json`), which pruning keeps while the delta is kept.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { applyListDelta, applyStageDelta, isListDelta, isStageDelta, lineageOf, listDelta, stageDelta, type Lineage, type ListDelta, type StageDelta } from './compiled-delta.js';
import { packPipeline, unpackPipeline } from './compiled-format.js';
import type { StageGraph } from './graph/build.js';
import type { Selectable } from './graph/select.js';
import type { CompiledSections } from './incremental-compile.js';
import type { LoadResult } from './pipeline/load.js';
import type { Pipeline, Stage } from './pipeline/types.js';
import { redactorFor } from './report/redact.js';
import { MAX_SOURCE_BYTES, readRegularFile, regularFileProblem } from './pipeline/safe-read.js';
import { ensureStateDir } from './state/state-dir.js';
import { writeFileAtomic } from './util/atomic.js';
import { UserError } from './util/errors.js';

export const STATE_DIR = '.pipe';
const COMPILED_FORMAT = 6;
declare const __PIPE_BUILD__: string | undefined;
/** A compiled pipeline is only reused by the build of pipe that compiled it (the loader may have changed). */
const BUILD_ID = typeof __PIPE_BUILD__ === 'string' ? __PIPE_BUILD__ : 'unbundled';
const KEEP_COMPILED = 8;

export interface Project {
  root: string;
  file: string;
  stateDir: string;
  pipeline: Pipeline;
  graph: StageGraph;
  stages: Map<string, Stage>;
  selectable: Selectable;
  args: LoadResult['args'];
  /** files the pipeline imports (project-relative) */
  imports: string[];
  /** what this project was loaded from: the pipeline file's bytes, and each import's importHash */
  loadedFrom: { text: Buffer; imports: Record<string, string> };
  /** a foreach expanded a glob: which stages exist depends on which files exist */
  globbed: boolean;
}

export interface Compiled {
  format: number;
  imports: Record<string, string>;
  pipeline: Pipeline;
  graph: StageGraph;
  args: LoadResult['args'];
  globbed?: boolean;
}

/** An entry with what an incremental compile reuses: the key of the header, and each stage's definition with its digest. */
export type CompiledWithSections = Compiled & { sections: CompiledSections };

/** The entry an incremental compile starts from, with what a delta written over its full entry needs. */
type Earlier = CompiledWithSections & { lineage?: Lineage; sectionsLineage?: SectionsLineage };

interface SectionsLineage {
  base: string;
  digest: string;
  replaced: ReadonlySet<number>;
}

/** The file name of an entry (a compiledKey): a delta's base is never anything else. */
const ENTRY_NAME = /^[0-9a-f]{32}\.json$/;

const SECTIONS = '.sections';

/**
 * The pipeline file named by -f, else the nearest pipeline.yaml at or above `cwd`. The first pipeline.yaml
 * found is the one: when it is not a readable regular file (a folder, a FIFO, a symlink loop) that is an
 * error, never a reason to look further up.
 */
export function findPipelineFile(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit) return checkedPipelineFile(path.resolve(cwd, explicit), explicit);
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'pipeline.yaml');
    if (lstatSync(candidate, { throwIfNoEntry: false })) return checkedPipelineFile(candidate, path.relative(cwd, candidate) || candidate);
    if (path.dirname(dir) === dir) break;
  }
  throw new UserError(`no pipeline.yaml in ${cwd} or any folder above it (use -f FILE)`);
}

function checkedPipelineFile(file: string, shown: string): string {
  const problem = regularFileProblem(file);
  if (problem) throw new UserError(`${shown}: ${problem}`);
  return file;
}

export async function openProject(file: string, sets: Record<string, unknown>, opts: { useCompiled?: boolean } = {}): Promise<Project> {
  const root = path.dirname(file);
  const stateDir = path.join(root, STATE_DIR);
  tryEnsureStateDir(stateDir);
  const text = readFileSync(file);
  const cacheFile = path.join(stateDir, 'compiled', `${compiledKey(text, sets)}.json`);
  const useCompiled = opts.useCompiled ?? true;
  const compiled = useCompiled ? readCompiled(cacheFile, root) : undefined;
  // a command that does not read the compiled cache (validate) does not write it either
  const result = compiled ?? (await compile(file, sets, text, useCompiled ? cacheFile : undefined));
  return toProject(root, file, stateDir, result, text);
}

function compiledKey(text: Buffer, sets: Record<string, unknown>): string {
  return createHash('sha256').update(text).update('\0').update(JSON.stringify(sets)).update(`\0${COMPILED_FORMAT}\0${BUILD_ID}`).digest('hex').slice(0, 32);
}

function readCompiled(cacheFile: string, root: string): Compiled | undefined {
  return readEntry(cacheFile, root, false)?.compiled;
}

/** A compiled entry, and with `withLineage` what a delta written over it next needs. */
function readEntry(cacheFile: string, root: string, withLineage: boolean): { compiled: Compiled; lineage?: Lineage } | undefined {
  const entry = readDigested(cacheFile);
  const full = entry && (isRecord(entry.value) && entry.value.delta !== undefined
    ? withBase(entry.value, path.dirname(cacheFile), withLineage)
    : { value: entry.value, lineage: withLineage ? fullLineage(path.basename(cacheFile), entry.digest, entry.value) : undefined });
  const compiled = full && compiledOf(full.value);
  if (!compiled || compiled.pipeline.root !== root) return undefined;
  for (const [rel, hash] of Object.entries(compiled.imports)) {
    if (fileHash(path.join(root, rel)) !== hash) return undefined;
  }
  return { compiled, lineage: full.lineage };
}

/** A delta entry made whole from its base (compiled-delta.ts): the base's stages with the delta's changes, and its graph. */
function withBase(value: Record<string, any>, dir: string, withLineage: boolean): { value: unknown; lineage?: Lineage } | undefined {
  const { delta, ...rest } = value;
  if (!isStageDelta(delta) || !isRecord(rest.pipeline)) return undefined;
  const b = baseOf(dir, delta, '');
  if (!b || b.locFile !== rest.locFile || !hasStageList(b)) return undefined;
  const lineage = withLineage ? lineageOf(delta.base, delta.digest, b.locFile, b.pipeline.stages, new Set(delta.stages.map(([i]) => i))) : undefined;
  const stages = applyStageDelta(b.pipeline.stages, delta);
  return stages && { value: { ...rest, pipeline: { ...rest.pipeline, stages }, graph: b.graph }, lineage };
}

/** The full entry (or sections file, by `suffix`) a delta names, while it is still the one the delta was written over. */
function baseOf(dir: string, delta: { base: string; digest: string }, suffix: string): Record<string, any> | undefined {
  if (!delta.base.endsWith(suffix) || !ENTRY_NAME.test(delta.base.slice(0, delta.base.length - suffix.length))) return undefined;
  const base = readDigested(path.join(dir, delta.base));
  const value = base?.digest === delta.digest ? base.value : undefined;
  return isRecord(value) && value.delta === undefined ? value : undefined;
}

function fullLineage(file: string, digest: string, value: unknown): Lineage | undefined {
  return isRecord(value) && typeof value.locFile === 'string' && hasStageList(value) ? lineageOf(file, digest, value.locFile, value.pipeline.stages) : undefined;
}

function hasStageList(value: Record<string, any>): value is Record<string, any> & { pipeline: { stages: (Record<string, unknown> & { loc: unknown; needs: unknown })[] } } {
  return isRecord(value.pipeline) && Array.isArray(value.pipeline.stages) && value.pipeline.stages.every(isRecord);
}

/** The entry, when it has the shape this build writes (compiled-format.ts). */
function compiledOf(value: unknown): Compiled | undefined {
  if (!isRecord(value) || value.format !== COMPILED_FORMAT || !isRecord(value.imports) || !Array.isArray(value.args)) return undefined;
  const unpacked = unpackPipeline(value);
  if (!unpacked) return undefined;
  const compiled = { ...value, ...unpacked } as Compiled;
  delete (compiled as { locFile?: string }).locFile;
  return isCompiled(compiled) ? compiled : undefined;
}

/** A digested file's JSON and the digest it is known by, when the digest (the first line's first word) matches it. */
function readDigested(file: string): { digest: string; value: unknown } | undefined {
  const text = readText(file);
  const newline = text?.indexOf('\n') ?? -1;
  if (!text || newline < 0) return undefined;
  const json = text.slice(newline + 1);
  const digest = text.slice(0, newline).split(' ')[0]!;
  if (digestOf(json) !== digest) return undefined;
  try {
    return { digest, value: JSON.parse(json) };
  } catch {
    return undefined;
  }
}

function isCompiled(value: unknown): value is Compiled {
  const c = value as Partial<Compiled> | null;
  return isRecord(c) && c.format === COMPILED_FORMAT && isRecord(c.imports) && Array.isArray(c.args)
    && isRecord(c.pipeline) && Array.isArray(c.pipeline.stages) && c.pipeline.stages.every(isRecord)
    && isRecord(c.graph) && Array.isArray(c.graph.order) && isRecord(c.graph.upstream);
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function digestOf(json: string | Uint8Array): string {
  return createHash('sha256').update(json).digest('hex');
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function compile(file: string, sets: Record<string, unknown>, text: Buffer, cacheFile: string | undefined): Promise<Compiled> {
  const { loadPipeline } = await import('./pipeline/load.js');
  const { buildGraph } = await import('./graph/build.js');
  const { compiledSections, earlierGraph, reusable } = await import('./incremental-compile.js');
  const root = path.dirname(file);
  const source = cacheFile ? readableSource(text) : undefined;
  const sections = source === undefined ? undefined : compiledSections(source, sets, `${root}\0${COMPILED_FORMAT}\0${BUILD_ID}`);
  const earlier = sections && cacheFile ? latestCompiled(path.dirname(cacheFile), sections.key, root) : undefined;
  const reuse = earlier && sections && source !== undefined ? reusable(earlier, sections, source) : undefined;
  let loaded: LoadResult;
  try {
    loaded = loadPipeline({ file, sets, reuse, ...(sections && source !== undefined ? { cut: { text: source, sections: sections.sections } } : {}) });
  } catch (err) {
    if (!reuse) throw err;
    loaded = loadPipeline({ file, sets }); // the full load reports it, exactly as without the earlier entry
  }
  const graph = (reuse && earlierGraph(earlier!, loaded.pipeline.stages)) || buildGraph(loaded.pipeline);
  const imports = Object.fromEntries(loaded.imports.map((rel) => [rel, fileHash(path.join(loaded.pipeline.root, rel))]));
  const compiled: Compiled = { format: COMPILED_FORMAT, imports, pipeline: loaded.pipeline, graph, args: loaded.args, globbed: loaded.globbed };
  if (cacheFile && !loaded.globbed) saveCompiled(cacheFile, compiled, sections?.withRaw(loaded.rawStages), reuse ? earlier : undefined);
  return compiled;
}

/** The text, when the full load would accept its bytes (otherwise that load reports why). */
function readableSource(text: Buffer): string | undefined {
  if (text.length > MAX_SOURCE_BYTES) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(text);
  } catch {
    return undefined;
  }
}

/** The newest entry compiled from the header `key` (its sections file found by the first line alone), when sound and current. */
function latestCompiled(dir: string, key: string, root: string): Earlier | undefined {
  const candidates = listFiles(dir, SECTIONS).map((f) => path.join(dir, f)).sort((a, b) => fileTime(b) - fileTime(a));
  const match = candidates.find((file) => firstLine(file).split(' ')[1] === key);
  if (!match) return undefined;
  const entry = readEntry(match.slice(0, -SECTIONS.length), root, true);
  const sections = entry && readSections(match);
  return entry && sections && sections.value.key === key ? { ...entry.compiled, sections: sections.value, lineage: entry.lineage, sectionsLineage: sections.lineage } : undefined;
}

/** A sections file, made whole from its base when it is a delta, and what a delta over it next needs. */
function readSections(file: string): { value: CompiledSections; lineage: SectionsLineage } | undefined {
  const read = readDigested(file);
  if (!read || !isRecord(read.value)) return undefined;
  const { delta, ...value } = read.value;
  if (delta === undefined) return isSections(value) ? { value, lineage: { base: path.basename(file), digest: read.digest, replaced: new Set() } } : undefined;
  if (!isListDelta(delta)) return undefined;
  const b = baseOf(path.dirname(file), delta, SECTIONS);
  if (!isSections(b)) return undefined;
  const stages = applyListDelta(b.stages, delta);
  const whole = stages && { ...value, stages };
  return isSections(whole) ? { value: whole, lineage: { base: delta.base, digest: delta.digest, replaced: new Set(delta.entries.map(([i]) => i)) } } : undefined;
}

function isSections(value: unknown): value is CompiledSections {
  return isRecord(value) && typeof value.key === 'string' && Array.isArray(value.stages) && value.stages.every((s) => Array.isArray(s) && s.length === 3);
}

function firstLine(file: string): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(160);
      const n = readSync(fd, head, 0, head.length, 0);
      return head.subarray(0, n).toString('utf8').split('\n')[0]!;
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function listFiles(dir: string, suffix: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(suffix));
  } catch {
    return [];
  }
}

function saveCompiled(cacheFile: string, compiled: Compiled, sections: CompiledSections | undefined, earlier: Earlier | undefined): void {
  try {
    const dir = path.dirname(cacheFile);
    mkdirSync(dir, { recursive: true });
    const delta = sections && earlier ? deltasOver(earlier, compiled, sections) : undefined;
    const json = delta
      ? JSON.stringify({ ...compiled, graph: undefined, pipeline: { ...compiled.pipeline, stages: undefined }, locFile: delta.locFile, delta: delta.stages })
      : JSON.stringify({ ...compiled, ...packPipeline(compiled.pipeline, compiled.graph) });
    if (redactorFor(compiled.pipeline.root).has(json)) return; // a secret passed with --set: never stored, parsed every time
    writeDigested(cacheFile, json, delta ? ` ${delta.stages.base}` : '');
    if (sections) writeDigested(cacheFile + SECTIONS, JSON.stringify(delta ? { key: sections.key, delta: delta.sections } : sections), ` ${sections.key}`);
    pruneCompiled(dir);
  } catch {
    /* a read-only project still runs; it just parses every time */
  }
}

/**
 * The entry and its sections as deltas over the full entry the earlier one came from, when the graph is the
 * earlier one's (the same stages in the same order) and few enough stages changed; else undefined (both full).
 */
function deltasOver(earlier: Earlier, compiled: Compiled, sections: CompiledSections): { locFile: string; stages: StageDelta; sections: ListDelta } | undefined {
  const { lineage, sectionsLineage } = earlier;
  if (!lineage || !sectionsLineage || compiled.graph !== earlier.graph || sectionsLineage.base !== lineage.base + SECTIONS) return undefined;
  const locFile = compiled.pipeline.stages[0]?.loc.file ?? '';
  const stages = stageDelta(compiled.pipeline.stages, earlier.pipeline.stages, lineage, locFile);
  const sameSection = (a: unknown, b: unknown) => (a as unknown[])[0] === (b as unknown[])[0] && (a as unknown[])[1] === (b as unknown[])[1];
  const listed = stages && listDelta(sections.stages, earlier.sections.stages, sameSection, sectionsLineage);
  return stages && listed ? { locFile, stages, sections: listed } : undefined;
}

/**
 * `<sha256 of the JSON><label>\n<JSON>`, encoded once for both the digest and the file. Not fsync'd: a reader
 * takes the entry only when the digest matches (readDigested), so one a crash left torn is compiled again.
 */
function writeDigested(file: string, json: string, label = ''): void {
  const bytes = Buffer.from(json);
  writeFileAtomic(file, [Buffer.from(`${digestOf(bytes)}${label}\n`), bytes], { durable: false });
}

/** Keeps the newest entries, and the full entries those of them that are deltas are written over. */
function pruneCompiled(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length <= KEEP_COMPILED) return;
  const newest = files.map((f) => ({ f, t: fileTime(path.join(dir, f)) })).sort((a, b) => b.t - a.t).map(({ f }) => f);
  const bases = new Set(newest.slice(0, KEEP_COMPILED).map((f) => firstLine(path.join(dir, f)).split(' ')[1]));
  for (const f of newest.slice(KEEP_COMPILED)) {
    if (bases.has(f)) continue;
    rmSync(path.join(dir, f), { force: true });
    rmSync(path.join(dir, f + SECTIONS), { force: true });
  }
}

function fileTime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** A read-only project still answers status, list and the like. */
function tryEnsureStateDir(stateDir: string): void {
  try {
    ensureStateDir(stateDir);
  } catch {
    /* reported by whatever has to write there */
  }
}

function isFile(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** The digest an import is recognised by (as loaded, in Project.loadedFrom; 'missing' when unreadable). */
export function importHash(file: string): string {
  return fileHash(file);
}

function fileHash(file: string): string {
  try {
    return createHash('sha256').update(readRegularFile(file)).digest('hex');
  } catch {
    return 'missing';
  }
}

function outputsOf(stages: Stage[]): Record<string, readonly string[]> {
  const outs: Record<string, readonly string[]> = {};
  for (const s of stages) if (s.outs.length) outs[s.name] = s.outs;
  return outs;
}

function toProject(root: string, file: string, stateDir: string, c: Compiled, text: Buffer): Project {
  const stages = new Map(c.pipeline.stages.map((s) => [s.name, s]));
  const templates: Record<string, string> = {};
  for (const s of c.pipeline.stages) if (s.template) templates[s.name] = s.template;
  return {
    root,
    file,
    stateDir,
    pipeline: c.pipeline,
    graph: c.graph,
    stages,
    selectable: { names: c.graph.order, groups: c.pipeline.groups, templates, upstream: c.graph.upstream, outs: outputsOf(c.pipeline.stages), root },
    args: c.args,
    imports: Object.keys(c.imports),
    loadedFrom: { text, imports: c.imports },
    globbed: c.globbed ?? false,
  };
}
