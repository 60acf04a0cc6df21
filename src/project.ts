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
 * reuses, so that a dry run, which reads only the entry, does not parse it.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
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
  const compiled = parseCompiled(readText(cacheFile));
  if (!compiled || compiled.pipeline.root !== root) return undefined;
  for (const [rel, hash] of Object.entries(compiled.imports)) {
    if (fileHash(path.join(root, rel)) !== hash) return undefined;
  }
  return compiled;
}

/** The entry, when its digest matches its JSON and the JSON has the shape this build writes (compiled-format.ts). */
function parseCompiled(text: string | undefined): Compiled | undefined {
  const value = parseDigested(text);
  if (!isRecord(value) || value.format !== COMPILED_FORMAT || !isRecord(value.imports) || !Array.isArray(value.args)) return undefined;
  const unpacked = unpackPipeline(value);
  if (!unpacked) return undefined;
  const compiled = { ...value, ...unpacked } as Compiled;
  delete (compiled as { locFile?: string }).locFile;
  return isCompiled(compiled) ? compiled : undefined;
}

/** The JSON after the digest line, when the digest (the line's first word) matches it. */
function parseDigested(text: string | undefined): unknown {
  const newline = text?.indexOf('\n') ?? -1;
  if (!text || newline < 0) return undefined;
  const json = text.slice(newline + 1);
  if (digestOf(json) !== text.slice(0, newline).split(' ')[0]) return undefined;
  try {
    return JSON.parse(json);
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
  if (cacheFile && !loaded.globbed) saveCompiled(cacheFile, compiled, sections?.withRaw(loaded.rawStages));
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
function latestCompiled(dir: string, key: string, root: string): CompiledWithSections | undefined {
  const candidates = listFiles(dir, SECTIONS).map((f) => path.join(dir, f)).sort((a, b) => fileTime(b) - fileTime(a));
  const match = candidates.find((file) => firstLine(file).split(' ')[1] === key);
  if (!match) return undefined;
  const compiled = readCompiled(match.slice(0, -SECTIONS.length), root);
  const sections = compiled && parseDigested(readText(match));
  return compiled && isSections(sections) && sections.key === key ? { ...compiled, sections } : undefined;
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

function saveCompiled(cacheFile: string, compiled: Compiled, sections: CompiledSections | undefined): void {
  try {
    const dir = path.dirname(cacheFile);
    mkdirSync(dir, { recursive: true });
    const json = JSON.stringify({ ...compiled, ...packPipeline(compiled.pipeline, compiled.graph) });
    if (redactorFor(compiled.pipeline.root).has(json)) return; // a secret passed with --set: never stored, parsed every time
    writeDigested(cacheFile, json);
    if (sections) writeDigested(cacheFile + SECTIONS, JSON.stringify(sections), ` ${sections.key}`);
    pruneCompiled(dir);
  } catch {
    /* a read-only project still runs; it just parses every time */
  }
}

/**
 * `<sha256 of the JSON><label>\n<JSON>`, encoded once for both the digest and the file. Not fsync'd: a reader
 * takes the entry only when the digest matches (parseDigested), so one a crash left torn is compiled again.
 */
function writeDigested(file: string, json: string, label = ''): void {
  const bytes = Buffer.from(json);
  writeFileAtomic(file, [Buffer.from(`${digestOf(bytes)}${label}\n`), bytes], { durable: false });
}

function pruneCompiled(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length <= KEEP_COMPILED) return;
  const byAge = files.map((f) => ({ f, t: fileTime(path.join(dir, f)) })).sort((a, b) => a.t - b.t);
  for (const { f } of byAge.slice(0, files.length - KEEP_COMPILED)) {
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
