/** pipeline.yaml → Pipeline: parse with positions, check the schema, interpolate, expand foreach/when. */
import path from 'node:path';
import picomatch from 'picomatch';
import { isMap, isScalar } from 'yaml';
import { PipelineError, PipelineErrors } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import {
  ExpansionBudget, ExpansionLimitError, InterpolationError, interpolateList, interpolateString, interpolateValue, lookupIn,
  type InterpolateOptions, type Lookup,
} from './interpolate.js';
import { resolveGroups } from './groups.js';
import { findGroupCycle } from './group-cycles.js';
import { foreachItems, hasGlobItems, ItemsError, matrixItems, rowItems, TABLE_NAMINGS, type ForeachItem } from './items.js';
import { parseSheet, SheetError } from './sample-sheet.js';
import { stableStringify } from '../util/stable-json.js';
import { isGlob, isPlainRelative, isWithinFolder, PathEscapeError, projectPath } from './paths.js';
import { parseMemory } from './memory.js';
import { attachPools } from './pools.js';
import { cacheClashes } from './cache-clashes.js';
import { reservedVariableProblem } from './reserved-env.js';
import { cacheRootProblem, logClashes, logProblem, outputProblem, type Protected } from './reserved-paths.js';
import { readRegularFile, UnreadableFileError } from './safe-read.js';
import { fetchSchema, type RawPipeline, type RawStage } from './schema.js';
import { stageSections, type Sections } from './sections.js';
import { decodeUtf8, errorAt, parseYamlSource, readYamlSource, sourceWithValue, type YamlPath, type YamlSource } from './source.js';
import type { CacheRoots, FetchSpec, Pipeline, Stage } from './types.js';
import { validateSchema } from './validate.js';

export interface LoadOptions {
  /** absolute path of the pipeline file */
  file: string;
  /** --set overrides, var name -> value */
  sets?: Record<string, unknown>;
  /** how the file is named in messages (default: relative to the current folder) */
  displayName?: string;
  /** what an earlier compile of the same header already made (incremental compile) */
  reuse?: Reuse;
  /** the file's text already cut into stage sections by the caller (used when the text is the one loaded) */
  cut?: { text: string; sections: Sections | undefined };
}

/**
 * An incremental compile: the document's value assembled by the caller (the changed stages parsed, the rest
 * remembered), and the compiled instances of each template whose definition did not change.
 */
export interface Reuse {
  text: string;
  value: unknown;
  unchanged: Map<string, Stage[]>;
  /** the stages whose definitions were parsed again (every other one is in `unchanged`) */
  changed: string[];
}

export interface LoadResult {
  pipeline: Pipeline;
  /** files the result depends on besides the pipeline file (imports), project-relative */
  imports: string[];
  /** true when a foreach expanded a glob: the result depends on which files exist */
  globbed: boolean;
  args: NonNullable<RawPipeline['args']>;
  /** each stage's definition as read from the file (before interpolation) */
  rawStages: RawPipeline['stages'];
}

/** Checked before the combinations are built: a few short lists multiply into more stages than memory holds. */
const MAX_MATRIX = 1_000_000;

const DEFAULT_CACHE = { hf_home: '.cache/huggingface', torch_home: '.cache/torch', mlx_home: '.cache/mlx' };

export function loadPipeline(opts: LoadOptions): LoadResult {
  const display = opts.displayName ?? (path.relative(process.cwd(), opts.file) || opts.file);
  const src = opts.reuse ? sourceWithValue(opts.reuse.text, display, opts.reuse.value) : readYamlSource(opts.file, display);
  const unchanged = opts.reuse?.unchanged ?? new Map<string, Stage[]>();
  const raw = validateSchema(src, opts.reuse?.changed);
  const cut = opts.cut && opts.cut.text === src.text ? opts.cut.sections : undefined;
  return new Loader(src, raw, path.dirname(opts.file), opts.sets ?? {}, unchanged, cut).load();
}

class Loader {
  private readonly errors: PipelineError[] = [];
  private readonly vars: Record<string, unknown>;
  private readonly imports: string[] = [];
  private globbed = false;
  private stagePositions: Map<string, { line: number; col: number }> | undefined;
  private readonly stageAts = new Map<string, StageAt>();
  private readonly plain: InterpolateOptions;
  private readonly shell: InterpolateOptions;
  /** instance name -> the file a glob foreach expanded it for */
  private readonly globItems = new Map<string, string>();
  /** every interpolation of this load draws on it: `${}` can never build more than a bounded amount */
  private readonly budget = new ExpansionBudget();
  /** --set keys that change a var read from an import file (checked against the stages that read that file) */
  private readonly importedSets: { key: string; file: string }[] = [];

  constructor(
    private readonly src: YamlSource,
    private readonly raw: RawPipeline,
    private readonly root: string,
    sets: Record<string, unknown>,
    private readonly unchanged: ReadonlyMap<string, Stage[]>,
    /** the text's stage sections, when the caller cut them already */
    private readonly cut?: Sections,
  ) {
    this.plain = { budget: this.budget };
    this.shell = { shell: true, budget: this.budget };
    this.vars = this.resolveVars(sets);
  }

  load(): LoadResult {
    const lookup = lookupIn([this.vars]);
    const cache = this.cacheRoots(lookup);
    const env = this.stringMap(this.raw.env ?? {}, ['env'], lookup);
    const templates = Object.entries(this.raw.stages);
    const stages = this.withoutOutputItems(templates.flatMap(([name, stage]) => this.reused(name, stage) ?? (this.isEnabled(name, stage) ? this.expand(name, stage) : [])));
    this.resolveNeeds(stages, new Set(templates.map(([n]) => n)));
    // a check of one definition against the header alone (a pool's name, a reserved variable) passed for one
    // lent by an earlier compile with the same header: only the others are checked
    const changed = this.unchanged.size ? templates.filter(([name]) => !this.unchanged.has(name)) : templates;
    const pools = attachPools(this.src, this.raw, stages, this.errors, changed);
    const groups = resolveGroups({
      src: this.src, root: this.root, raw: this.raw.groups, vars: this.vars, errors: this.errors,
      stageNames: [...templates.map(([n]) => n), ...stages.map((s) => s.name)],
    });
    this.globbed ||= groups.globbed;
    this.checkGroupCycles(groups.groups);
    this.checkArgs();
    this.checkReservedEnv(changed);
    for (const clash of logClashes(stages)) this.refuse(clash.detail, ['stages', clash.stage.template ?? clash.stage.name, 'log']);
    for (const clash of cacheClashes(this.root, cache, stages)) this.refuse(clash.detail, clash.at);
    if (this.importedSets.length) this.checkImportedSets(stages);
    if (this.errors.length === 1) throw this.errors[0]!;
    if (this.errors.length > 1) throw new PipelineErrors(this.errors.slice(0, 20));
    const pipeline: Pipeline = {
      root: this.root,
      file: path.join(this.root, path.basename(this.src.file)),
      vars: this.vars,
      env,
      cache,
      ...(this.raw.cache?.link ? { link: this.raw.cache.link } : {}),
      groups: groups.groups,
      groupDescs: groups.descs,
      pools,
      allowOutside: this.allowOutside,
      ...remoteCacheOf(this.raw.remote_cache),
      ...(this.raw.executor ? { executor: this.raw.executor } : {}),
      ...(this.raw.slurm ? { slurm: this.raw.slurm } : {}),
      ...(this.raw.retries !== undefined ? { retries: this.raw.retries } : {}),
      stages,
    };
    return { pipeline, imports: this.imports, globbed: this.globbed, args: this.raw.args ?? [], rawStages: this.raw.stages };
  }

  // ---- vars ----

  private resolveVars(sets: Record<string, unknown>): Record<string, unknown> {
    // null-prototype maps: a var named __proto__ or constructor is a var like any other
    const declared: Record<string, unknown> = Object.assign(Object.create(null), this.raw.vars ?? {});
    for (const [name, file] of Object.entries(this.raw.imports ?? {})) {
      declared[name] = this.readImport(name, file);
    }
    for (const [key, value] of Object.entries(sets)) {
      const head = declaredHead(key, declared);
      if (head === undefined) {
        const first = key.split('.')[0]!;
        throw new PipelineError(this.src.file, undefined, undefined,
          `--set ${key}: no such var${didYouMean(first, Object.keys(declared))}; declared: ${Object.keys(declared).join(', ') || 'none'}`);
      }
      const inner = key === head ? [] : key.slice(head.length + 1).split('.');
      declared[head] = this.guardSet(key, () => setAt(declared[head], inner, value, head));
      const importFile = this.raw.imports?.[head];
      if (importFile !== undefined) this.importedSets.push({ key, file: projectPathOrSelf(this.root, importFile) });
    }
    const resolved: Record<string, unknown> = Object.create(null);
    const resolving = new Set<string>();
    const resolveOne = (name: string): unknown => {
      if (name in resolved) return resolved[name];
      if (resolving.has(name)) throw errorAt(this.src, ['vars', name], `var '${name}' refers to itself through ${[...resolving].join(' -> ')}`);
      resolving.add(name);
      const lookup: Lookup = (p) => {
        const head = p.split('.')[0]!;
        if (head in declared) resolveOne(head);
        return lookupIn([resolved])(p);
      };
      resolved[name] = this.interpolateDeep(declared[name], lookup, ['vars', name]);
      resolving.delete(name);
      return resolved[name];
    };
    for (const name of Object.keys(declared)) resolveOne(name);
    return resolved;
  }

  private readImport(name: string, file: string): unknown {
    const rel = this.guardPath(file, ['imports', name]);
    if (rel === undefined) return {};
    this.imports.push(rel);
    let bytes: Buffer;
    try {
      bytes = readRegularFile(path.join(this.root, rel), { within: [this.root, ...this.allowOutside] });
    } catch (err) {
      if (!(err instanceof UnreadableFileError)) throw err;
      throw errorAt(this.src, ['imports', name], `cannot load '${file}': ${err.message}`);
    }
    // the same checks as the pipeline file (aliases, duplicate keys, tags), with errors located in the import
    return parseYamlSource(decodeUtf8(bytes, rel), rel).value;
  }

  private interpolateDeep(value: unknown, lookup: Lookup, at: YamlPath): unknown {
    if (typeof value === 'string') return this.guard(at, () => interpolateValue(value, lookup, { budget: this.budget }), value);
    if (Array.isArray(value)) return value.map((v, i) => this.interpolateDeep(v, lookup, [...at, i]));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.interpolateDeep(v, lookup, [...at, k])]));
    }
    return value;
  }

  private cacheRoots(lookup: Lookup): CacheRoots {
    const raw = { ...DEFAULT_CACHE, ...(this.raw.cache ?? {}) };
    const model = (key: keyof typeof DEFAULT_CACHE) => this.cacheRoot(key, raw[key], ['cache', key], lookup) ?? path.join(this.root, DEFAULT_CACHE[key]);
    const apps: Record<string, string> = Object.create(null);
    for (const [name, dir] of Object.entries(this.raw.cache?.apps ?? {})) {
      if (name in DEFAULT_CACHE) this.refuse(`cache apps.${name}: '${name}' is a model root; name the application cache otherwise`, ['cache', 'apps', name]);
      apps[name] = this.cacheRoot(`apps.${name}`, dir, ['cache', 'apps', name], lookup) ?? path.join(this.root, '.cache', name);
    }
    return { hfHome: model('hf_home'), torchHome: model('torch_home'), mlxHome: model('mlx_home'), apps };
  }

  /** A cache root as an absolute folder: inside the project, or under an `allow_outside` folder (/scratch/hf). */
  private cacheRoot(name: string, raw: string, at: YamlPath, lookup: Lookup): string | undefined {
    const value = this.guard(at, () => interpolateString(raw, lookup, { budget: this.budget }), raw);
    const outside = this.allowedOutside(value);
    if (outside !== undefined) {
      return this.refuse(isWithinFolder(outside, this.root) ? `cache root ${name} '${outside}' holds the project; emptying it would delete the project` : undefined, at)
        ? undefined : outside;
    }
    const rel = this.guardPath(value, at);
    if (rel === undefined || this.refuse(cacheRootProblem(name, rel, this.protectedPaths), at)) return undefined;
    return path.join(this.root, rel);
  }

  // ---- stages ----

  private isEnabled(name: string, stage: RawStage): boolean {
    for (const [varName, accepted] of Object.entries(stage.when ?? {})) {
      if (!(varName in this.vars)) {
        this.errors.push(errorAt(this.src, ['stages', name, 'when', varName], `unknown var '${varName}'${didYouMean(varName, Object.keys(this.vars))}`, true));
        return false;
      }
      const values = (Array.isArray(accepted) ? accepted : [accepted]).map(String);
      if (!values.includes(String(this.vars[varName]))) return false;
    }
    return true;
  }

  /** The instances an earlier compile made of this very definition, as they were before needs were resolved. */
  private reused(name: string, raw: RawStage): Stage[] | undefined {
    const stages = this.unchanged.get(name);
    if (!stages) return undefined;
    // the sheet stays an input of the compile (an edit of it must recompile), though its rows are not read again
    if (raw.foreach !== undefined && typeof raw.foreach !== 'string') this.sheetOf(name, raw.foreach);
    const { line, col } = this.stagePosition(name);
    for (const stage of stages) {
      stage.needs = raw.needs ?? [];
      stage.loc = { file: this.src.file, line: line ?? 0, col: col ?? 0 };
    }
    return stages;
  }

  private expand(name: string, raw: RawStage): Stage[] {
    const over = this.itemsOf(name, raw);
    if (over === 'none') return this.stage(name, raw, lookupIn([this.vars]));
    if (over === 'invalid') return [];
    return over.items.flatMap(({ item, job }) => {
      if (over.globbed) this.globItems.set(`${name}@${job}`, String(item).replace(/^\.\//, ''));
      return this.stage(`${name}@${job}`, raw, lookupIn([{ item, job }, this.vars]), { job, template: name, foreach: over.identity });
    });
  }

  /** What a stage is expanded over: a var, a sample sheet or a matrix; 'invalid' once the error is recorded. */
  private itemsOf(name: string, raw: RawStage): { items: ForeachItem[]; identity: string; globbed: boolean } | 'none' | 'invalid' {
    if (raw.foreach !== undefined && raw.matrix !== undefined) {
      this.errors.push(errorAt(this.src, ['stages', name, 'matrix'], `stage '${name}' has both foreach and matrix; use one (a matrix is a foreach over every combination)`, true));
      return 'invalid';
    }
    if (raw.matrix !== undefined) {
      const lists = this.matrixLists(name, raw.matrix);
      return lists ? { items: matrixItems(lists), identity: `matrix:${stableStringify(lists)}`, globbed: false } : 'invalid';
    }
    if (raw.foreach === undefined) return 'none';
    if (typeof raw.foreach !== 'string') {
      const sheet = this.sheetOf(name, raw.foreach);
      const rows = sheet && this.sheetRows(sheet);
      return rows ? { items: rowItems(rows, TABLE_NAMINGS), identity: `${sheet!.kind}:${sheet!.rel}`, globbed: false } : 'invalid';
    }
    const at = ['stages', name, 'foreach'];
    if (!(raw.foreach in this.vars)) {
      this.errors.push(errorAt(this.src, at, `unknown var '${raw.foreach}'${didYouMean(raw.foreach, Object.keys(this.vars))}`));
      return 'invalid';
    }
    const value = this.vars[raw.foreach];
    try {
      const items = foreachItems(this.root, value, raw.foreach);
      const globbed = hasGlobItems(value);
      this.globbed ||= globbed;
      return { items, identity: raw.foreach, globbed };
    } catch (err) {
      if (!(err instanceof ItemsError)) throw err;
      this.errors.push(errorAt(this.src, at, err.message));
      return 'invalid';
    }
  }

  /** Each key's list of values (a literal list, or a `${reference}` to one), interpolated. */
  private matrixLists(name: string, matrix: NonNullable<RawStage['matrix']>): Record<string, unknown[]> | undefined {
    const lists: Record<string, unknown[]> = Object.create(null);
    for (const [key, value] of Object.entries(matrix)) {
      const at: YamlPath = ['stages', name, 'matrix', key];
      const errorsBefore = this.errors.length;
      const resolved = this.interpolateDeep(value, lookupIn([this.vars]), at);
      if (this.errors.length > errorsBefore) return undefined;
      if (!Array.isArray(resolved) || resolved.length === 0) {
        this.errors.push(errorAt(this.src, at, `matrix ${key}: ${JSON.stringify(value)} is ${Array.isArray(resolved) ? 'an empty list' : `not a list (${JSON.stringify(resolved)})`}; a matrix key needs a list of values`));
        return undefined;
      }
      lists[key] = resolved;
    }
    const combinations = Object.values(lists).reduce((n, list) => n * list.length, 1);
    if (combinations > MAX_MATRIX) {
      this.errors.push(errorAt(this.src, ['stages', name, 'matrix'], `matrix gives ${combinations.toLocaleString('en')} combinations; at most ${MAX_MATRIX.toLocaleString('en')} stages come from one matrix`, true));
      return undefined;
    }
    return lists;
  }

  /** The sample sheet a `foreach: {csv: FILE}` or `{tsv: FILE}` names, project-relative; it becomes an input of the compile. */
  private sheetOf(name: string, spec: Exclude<RawStage['foreach'], string | undefined>): Sheet | undefined {
    const kind = 'csv' in spec ? 'csv' : 'tsv';
    const file = 'csv' in spec ? spec.csv : spec.tsv;
    const at: YamlPath = ['stages', name, 'foreach', kind];
    const rel = this.guardPath(this.guard(at, () => interpolateString(file, lookupIn([this.vars]), { budget: this.budget }), file), at);
    if (rel === undefined) return undefined;
    if (!this.imports.includes(rel)) this.imports.push(rel);
    return { kind, rel, at };
  }

  private sheetRows(sheet: Sheet): Record<string, string>[] | undefined {
    let text: string;
    try {
      text = decodeUtf8(readRegularFile(path.join(this.root, sheet.rel), { within: [this.root] }), sheet.rel);
    } catch (err) {
      if (err instanceof PipelineError) return void this.errors.push(err);
      if (!(err instanceof UnreadableFileError)) throw err;
      return void this.errors.push(errorAt(this.src, sheet.at, `cannot read the sample sheet '${sheet.rel}': ${err.message}`));
    }
    try {
      return parseSheet(text, sheet.kind === 'csv' ? ',' : '\t').map((row) => row.values);
    } catch (err) {
      if (!(err instanceof SheetError)) throw err;
      return void this.errors.push(new PipelineError(sheet.rel, err.line, err.col, `${err.message} (sample sheet, ${sheet.kind.toUpperCase()})`));
    }
  }

  /** A glob foreach must not pick up what stages write (a.txt -> a.txt.up.txt -> a.txt.up.txt.up.txt ...). */
  private withoutOutputItems(stages: Stage[]): Stage[] {
    if (this.globItems.size === 0) return stages;
    const outs = new Set(stages.flatMap((s) => s.outs));
    return stages.filter((s) => {
      const item = this.globItems.get(s.name);
      return item === undefined || !isOrIsInside(item, outs);
    });
  }

  private stage(name: string, raw: RawStage, lookup: Lookup, origin: { job?: string; template?: string; foreach?: string } = {}): Stage[] {
    const at = this.stageAt(origin.template ?? name, origin.template !== undefined);
    const pos = this.stagePosition(origin.template ?? name);
    if (!raw.cmd === !raw.fetch) {
      this.errors.push(errorAt(this.src, at.stage, `stage '${name}' needs exactly one of 'cmd' or 'fetch'`, true));
      return [];
    }
    const stage: Stage = {
      name,
      desc: raw.desc === undefined ? undefined : this.interpolated(at.desc, raw.desc, lookup, this.plain),
      cmd: this.command(raw.cmd, lookup, at.cmd),
      fetch: raw.fetch === undefined ? undefined : this.fetchSpec(raw.fetch, lookup, at.fetch),
      deps: raw.deps === undefined ? [] : this.paths(raw.deps, lookup, at.deps, true),
      ...this.outputs(raw, lookup, at),
      persist: raw.persist,
      params: raw.params === undefined ? Object.create(null) : this.params(raw.params, lookup, at.params),
      needs: raw.needs ?? [],
      env: raw.env === undefined ? {} : this.stringMap(raw.env, at.env, lookup),
      resources: {
        cpu: raw.resources?.cpu ?? 1,
        gpu: raw.resources?.gpu ?? 0,
        mem: raw.resources?.mem === undefined ? 0 : parseMemory(raw.resources.mem),
      },
      network: raw.network,
      ...(raw.executor ? { executor: raw.executor } : {}),
      ...(raw.slurm ? { slurm: raw.slurm } : {}),
      ...(raw.retries !== undefined ? { retries: raw.retries } : {}),
      log: raw.log === undefined ? undefined : this.logPath(raw.log, lookup, at.log),
      job: origin.job,
      template: origin.template,
      foreach: origin.foreach,
      ...(raw.always_changed ? { alwaysChanged: true } : {}),
      loc: { file: pos.file, line: pos.line ?? 0, col: pos.col ?? 0 },
    };
    return [stage];
  }

  /** `metrics:` and `plots:` files are outputs too (cached, restored), and stay named as what they are. */
  private outputs(raw: RawStage, lookup: Lookup, at: StageAt): Pick<Stage, 'outs' | 'metrics' | 'plots'> {
    const outs = raw.outs === undefined ? [] : this.paths(raw.outs, lookup, at.outs, false);
    const metrics = raw.metrics === undefined ? undefined : this.paths(raw.metrics, lookup, at.metrics, false);
    const plots = raw.plots === undefined ? undefined : this.paths(raw.plots, lookup, at.plots, false);
    return {
      outs: metrics === undefined && plots === undefined ? outs : [...new Set([...outs, ...(metrics ?? []), ...(plots ?? [])])],
      ...(metrics?.length ? { metrics } : {}),
      ...(plots?.length ? { plots } : {}),
    };
  }

  /**
   * The YAML paths of a stage's fields: a foreach's jobs share their template's (a foreach of 100,000 jobs
   * builds them once, not per job); a plain stage's are built as read and not kept (100,000 stages would keep
   * a million arrays that only ever locate an error).
   */
  private stageAt(name: string, template: boolean): StageAt {
    if (!template) return new StageAt(name);
    let at = this.stageAts.get(name);
    if (!at) this.stageAts.set(name, (at = new StageAt(name)));
    return at;
  }

  /** Where each stage's key is, indexed once: looking each one up in the map would be quadratic. */
  private stagePosition(name: string): { file: string; line?: number; col?: number } {
    this.stagePositions ??= this.indexStagePositions();
    return { file: this.src.file, ...this.stagePositions.get(name) };
  }

  /** From the text when it is laid out plainly (no Document needed), else from the Document. */
  private indexStagePositions(): Map<string, { line: number; col: number }> {
    const sections = this.cut ?? stageSections(this.src.text);
    if (sections && sections.stages.length === Object.keys(this.raw.stages).length) {
      return new Map(sections.stages.map((s) => [s.name, { line: s.line, col: s.col }]));
    }
    const positions = new Map<string, { line: number; col: number }>();
    const stages = this.src.doc.get('stages', true);
    if (isMap(stages)) {
      for (const pair of stages.items) {
        const range = (pair.key as { range?: [number, number, number] } | null)?.range;
        if (isScalar(pair.key) && range) positions.set(String(pair.key.value), this.src.lines.linePos(range[0]));
      }
    }
    return positions;
  }

  private command(cmd: RawStage['cmd'], lookup: Lookup, at: YamlPath): Stage['cmd'] {
    if (cmd === undefined) return undefined;
    if (typeof cmd === 'string') {
      const text = this.interpolated(at, cmd, lookup, this.shell);
      if (!text.trim()) this.errors.push(errorAt(this.src, at, 'the command is empty after interpolation'));
      return text;
    }
    const argv = this.interpolatedList(at, cmd, lookup);
    if (!argv[0]) this.errors.push(errorAt(this.src, at, 'the command is empty after interpolation'));
    return argv;
  }

  private fetchSpec(value: unknown, lookup: Lookup, at: YamlPath): FetchSpec | undefined {
    const errorsBefore = this.errors.length;
    const resolved = this.interpolateDeep(value, lookup, at);
    if (this.errors.length > errorsBefore) return undefined;
    const result = fetchSchema.safeParse(resolved);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      this.errors.push(errorAt(this.src, at, `fetch: ${issue.path.length ? issue.path.join('.') + ': ' : ''}${issue.message}`));
      return undefined;
    }
    const spec = result.data;
    if ('to' in spec) {
      const to = this.guardPath(spec.to, [...at, 'to']);
      if (to !== undefined && this.refuse(outputProblem(to, this.protectedPaths), [...at, 'to'])) return undefined;
      return to === undefined ? undefined : { ...spec, to };
    }
    return spec;
  }

  private paths(items: string[], lookup: Lookup, at: YamlPath, globsAllowed: boolean): string[] {
    const expanded = this.interpolatedList(at, items, lookup);
    const result: string[] = [];
    for (let i = 0; i < expanded.length; i++) {
      const p = expanded[i]!;
      // an element that was `${list}` gave several paths: they are located at the last element written
      const index = Math.min(i, items.length - 1);
      if (!globsAllowed && isGlob(p)) {
        this.errors.push(errorAt(this.src, [...at, index], `${String(at[at.length - 1])} cannot be globs: '${p}'`));
        continue;
      }
      if (globsAllowed && isGlob(p)) this.checkGlob(p, at, index);
      const outside = globsAllowed ? this.allowedOutside(p) : undefined;
      const rel = outside ?? this.guardPath(p, at, index);
      if (rel !== undefined && !globsAllowed && this.refuse(outputProblem(rel, this.protectedPaths), at, index)) continue;
      if (rel !== undefined) result.push(rel);
    }
    return result.length > 1 ? [...new Set(result)] : result;
  }

  private checkGlob(pattern: string, at: YamlPath, index?: number): void {
    try {
      picomatch.makeRe(pattern, { strictBrackets: true });
    } catch (err) {
      this.errors.push(errorAt(this.src, within(at, index), `bad glob '${pattern}': ${(err as Error).message}`));
    }
  }

  private params(names: string[], lookup: Lookup, at: YamlPath): Record<string, unknown> {
    const params: Record<string, unknown> = Object.create(null);
    names.forEach((name, i) => {
      const found = lookup(name);
      if (found.found) params[name] = found.value;
      else this.errors.push(errorAt(this.src, [...at, i], `unknown var '${name}' in params${didYouMean(name, found.known)}`));
    });
    return params;
  }

  private stringMap(map: Record<string, unknown>, at: YamlPath, lookup: Lookup): Record<string, string> {
    return Object.fromEntries(Object.entries(map).map(([k, v]) =>
      [k, typeof v === 'string' ? this.interpolated(at, v, lookup, this.plain, k) : String(v)]));
  }

  // ---- references ----

  private resolveNeeds(stages: Stage[], declared: Set<string>): void {
    if (!stages.some((s) => s.needs.length)) return;
    const byName = new Map(stages.map((s) => [s.name, s]));
    // indexed once: filtering every stage's instances or names per need is quadratic in a foreach's items
    const byTemplate = new Map<string, string[]>();
    const byTemplateJob = new Map<string, string[]>();
    for (const s of stages) {
      if (!s.template) continue;
      pushTo(byTemplate, s.template, s.name);
      if (s.job) pushTo(byTemplateJob, templateJobKey(s.template, s), s.name);
    }
    const byGlob = new Map<string, string[]>();
    const matching = (glob: string) => getOrAdd(byGlob, glob, () => {
      const isMatch = picomatch(glob);
      return stages.filter((s) => isMatch(s.name)).map((s) => s.name);
    });
    for (const stage of stages) {
      if (stage.needs.length === 0) continue;
      const at = ['stages', stage.template ?? stage.name, 'needs'];
      stage.needs = [...new Set(stage.needs.flatMap((need, i) => {
        if (need === stage.name || need === stage.template) {
          this.errors.push(errorAt(this.src, [...at, i], `stage '${stage.template ?? stage.name}' lists itself in needs; a stage cannot wait for itself`));
          return [];
        }
        if (byName.has(need)) return [need];
        const instances = byTemplate.get(need);
        if (instances) {
          const sameJob = stage.job ? byTemplateJob.get(templateJobKey(need, stage)) : undefined;
          return sameJob ?? instances;
        }
        if (declared.has(need)) return [];
        if (isGlob(need)) return matching(need);
        this.errors.push(errorAt(this.src, [...at, i], `unknown stage '${need}' in needs${didYouMean(need, declared)}`));
        return [];
      }))].filter((n) => n !== stage.name);
    }
  }

  /** Where a group's member is written: a plain list's entry, else the group itself (derived groups). */
  private groupMemberPath(group: string, index: number): YamlPath {
    const raw = (this.raw.groups as Record<string, unknown> | undefined)?.[group];
    return Array.isArray(raw) && index < raw.length ? ['groups', group, index] : ['groups', group];
  }

  private checkGroupCycles(groups: Record<string, string[]>): void {
    const cycle = findGroupCycle(new Map(Object.entries(groups)));
    if (cycle) {
      const around = [...cycle.groups, cycle.groups[0]].join(' -> ');
      this.errors.push(errorAt(this.src, this.groupMemberPath(cycle.closingGroup, cycle.closingIndex), `group cycle: ${around}; a group cannot contain itself`));
    }
  }

  /** `env` may not set what pipe sets itself (the cache variables, PIPE_*): it would be silently overridden. */
  private checkReservedEnv(changed: [string, RawStage][]): void {
    const check = (env: Record<string, unknown> | undefined, at: () => YamlPath) => {
      for (const name of Object.keys(env ?? {})) {
        const problem = reservedVariableProblem(name);
        if (problem) this.errors.push(errorAt(this.src, [...at(), name], problem, true));
      }
    };
    check(this.raw.env, () => ['env']);
    // the path of a stage's env is built only for an error: 100,000 stages would build 100,000 arrays
    for (const [name, stage] of changed) check(stage.env, () => ['stages', name, 'env']);
  }

  /** A shorthand flag sets a var: that var must exist, or `--media x` would be accepted and do nothing. */
  private checkArgs(): void {
    (this.raw.args ?? []).forEach((arg, i) => {
      if (arg.var in this.vars) return;
      const known = Object.keys(this.vars);
      this.errors.push(errorAt(this.src, ['args', i, 'var'], `args: ${arg.flags.join('/')} sets unknown var '${arg.var}'${didYouMean(arg.var, known)}; declared: ${known.join(', ') || 'none'}`));
    });
  }

  /**
   * A --set that changes a var from an import file changes pipe's copy of it, not the file. A stage that
   * reads that file itself (it is a dep) and records the param would record a value its program never saw:
   * refuse, unless its command is given the value (`${p.train.n_est}`).
   */
  private checkImportedSets(stages: Stage[]): void {
    for (const { key, file } of this.importedSets) {
      for (const stage of stages) {
        const param = Object.keys(stage.params).find((name) => overlaps(name, key));
        if (param === undefined || !stage.deps.some((dep) => depCovers(dep, file))) continue;
        const raw = this.raw.stages[stage.template ?? stage.name];
        if (referencedVars(raw?.cmd).some((ref) => overlaps(ref, key))) continue;
        this.errors.push(new PipelineError(this.src.file, undefined, undefined,
          `--set ${key}: stage '${stage.name}' reads ${file} itself (it is a dep) and records param '${param}', so the run would ` +
          `record a value its program never read; change it in ${file}, or give it to the command as \${${key}}`));
        return;
      }
    }
  }

  private guardSet(key: string, fn: () => unknown): unknown {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof SetPathError)) throw err;
      throw new PipelineError(this.src.file, undefined, undefined, `--set ${key}: ${err.message}`);
    }
  }

  // ---- error plumbing ----

  private guard<T>(at: YamlPath, fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (err) {
      return this.interpolationFailed(err, at, fallback);
    }
  }

  /** `text` interpolated; on an error, recorded at `at` (or at its `key`), the text as written. No closure per call: this runs per foreach job. */
  private interpolated(at: YamlPath, text: string, lookup: Lookup, opts: InterpolateOptions, key?: string): string {
    try {
      return interpolateString(text, lookup, opts);
    } catch (err) {
      return this.interpolationFailed(err, within(at, key), text);
    }
  }

  private interpolatedList(at: YamlPath, items: string[], lookup: Lookup): string[] {
    try {
      return interpolateList(items, lookup, this.plain);
    } catch (err) {
      return this.interpolationFailed(err, at, items);
    }
  }

  private interpolationFailed<T>(err: unknown, at: YamlPath, fallback: T): T {
    if (!(err instanceof InterpolationError)) throw err;
    // past a size limit every later string would fail too (a foreach of 100,000 jobs): stop at the first
    if (err instanceof ExpansionLimitError) throw errorAt(this.src, at, err.message);
    this.errors.push(errorAt(this.src, at, err.message));
    return fallback;
  }

  private get allowOutside(): string[] {
    return (this.raw.allow_outside ?? []).map((dir) => path.resolve(dir));
  }

  /** A dep outside the project under an `allow_outside` folder: kept as an absolute path. */
  private allowedOutside(p: string): string | undefined {
    if (isPlainRelative(p)) return undefined;
    const absolute = path.resolve(this.root, p);
    const inside = (dir: string) => isWithinFolder(dir, absolute);
    if (inside(this.root)) return undefined;
    return this.allowOutside.some(inside) ? absolute : undefined;
  }

  /** What pipe must never write: the pipeline file, its imports (and .git, .pipe: see reserved-paths.ts). */
  private get protectedPaths(): Protected {
    return { pipelineFile: path.basename(this.src.file), imports: this.imports };
  }

  /** Records `problem` (if any) as an error at `at`; true when there was one. */
  private refuse(problem: string | undefined, at: YamlPath, index?: number): boolean {
    if (problem !== undefined) this.errors.push(errorAt(this.src, within(at, index), problem));
    return problem !== undefined;
  }

  private logPath(raw: string, lookup: Lookup, at: YamlPath): string | undefined {
    const rel = this.guardPath(this.interpolated(at, raw, lookup, this.plain), at);
    return rel !== undefined && this.refuse(logProblem(rel, this.protectedPaths), at) ? undefined : rel;
  }

  private guardPath(p: string, at: YamlPath, index?: number): string | undefined {
    try {
      return projectPath(this.root, p);
    } catch (err) {
      if (!(err instanceof PathEscapeError)) throw err;
      this.errors.push(errorAt(this.src, within(at, index), `${err.message}; pipe only reads and writes inside the project (a dep or a cache root may lie in a folder listed under allow_outside)`));
      return undefined;
    }
  }
}

/** The YAML paths of one stage definition's fields (see `Loader.stageAt`), each built when first read. */
class StageAt {
  readonly stage: YamlPath;
  private readonly fields: Partial<Record<StageField, YamlPath>> = {};

  constructor(name: string) {
    this.stage = ['stages', name];
  }

  get desc(): YamlPath { return this.field('desc'); }
  get cmd(): YamlPath { return this.field('cmd'); }
  get fetch(): YamlPath { return this.field('fetch'); }
  get deps(): YamlPath { return this.field('deps'); }
  get outs(): YamlPath { return this.field('outs'); }
  get metrics(): YamlPath { return this.field('metrics'); }
  get plots(): YamlPath { return this.field('plots'); }
  get params(): YamlPath { return this.field('params'); }
  get env(): YamlPath { return this.field('env'); }
  get log(): YamlPath { return this.field('log'); }

  private field(key: StageField): YamlPath {
    return (this.fields[key] ??= [...this.stage, key]);
  }
}

type StageField = 'desc' | 'cmd' | 'fetch' | 'deps' | 'outs' | 'metrics' | 'plots' | 'params' | 'env' | 'log';

/** `at`, or the entry `key` inside it: built only when an error is to be located there. */
function within(at: YamlPath, key: string | number | undefined): YamlPath {
  return key === undefined ? at : [...at, key];
}

interface Sheet {
  kind: 'csv' | 'tsv';
  /** project-relative */
  rel: string;
  /** where the pipeline names it */
  at: YamlPath;
}

/** `p` is one of `dirs`, or lies inside one of them: looked up per ancestor, not per entry of `dirs`. */
function isOrIsInside(p: string, dirs: ReadonlySet<string>): boolean {
  for (let at = p; at !== '.' && at !== '/' && at !== ''; at = path.posix.dirname(at)) {
    if (dirs.has(at)) return true;
  }
  return false;
}

function templateJobKey(template: string, stage: Stage): string {
  return `${template}\0${stage.foreach ?? ''}\0${stage.job}`;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

/**
 * A --set value arrives as text (or a list or mapping parsed from YAML); where the declared var is a number or
 * a boolean and the text spells one exactly (`--set n=2` for `n: 1`), it takes that type, so `--set n=1` is
 * the declared value, not a new key. Inside lists and mappings each value follows the declared one at its place.
 */
function likeDeclared(declared: unknown, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v, i) => likeDeclared(Array.isArray(declared) ? declared[i] ?? declared[0] : undefined, v));
  if (isPlainMap(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, likeDeclared(isPlainMap(declared) ? declared[k] : undefined, v)]));
  }
  if (typeof value !== 'string') return value;
  if (typeof declared === 'number' && value.trim() !== '' && String(Number(value)) === value) return Number(value);
  if (typeof declared === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The declared var a --set key names: the key itself, else its longest dotted prefix (`p` of `p.train.n_est`). */
function declaredHead(key: string, declared: Record<string, unknown>): string | undefined {
  for (let end = key.length; end > 0; end = key.lastIndexOf('.', end - 1)) {
    const head = key.slice(0, end);
    if (Object.prototype.hasOwnProperty.call(declared, head)) return head;
  }
  return undefined;
}

class SetPathError extends Error {}

/** A copy of `current` with `value` at the path inside it; mappings on the way are created when missing. */
function setAt(current: unknown, inner: string[], value: unknown, at: string): unknown {
  if (inner.length === 0) return likeDeclared(current, value);
  const [key, ...rest] = inner as [string, ...string[]];
  const where = `${at}.${key}`;
  if (Array.isArray(current)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= current.length) {
      throw new SetPathError(`'${at}' is a list of ${current.length}: '${key}' is not an index in it`);
    }
    const copy = [...current];
    copy[index] = setAt(current[index], rest, value, where);
    return copy;
  }
  if (current === undefined || current === null) return { [key]: setAt(undefined, rest, value, where) };
  if (!isPlainMap(current)) throw new SetPathError(`'${at}' is ${JSON.stringify(current)}, not a mapping: it has no '${key}'`);
  return { ...current, [key]: setAt(current[key], rest, value, where) };
}

function projectPathOrSelf(root: string, file: string): string {
  try {
    return projectPath(root, file);
  } catch {
    return file;
  }
}

/** True when one dotted path is the other or lies inside it (`p.train` and `p.train.n_est`). */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '.') || b.startsWith(a + '.');
}

/** The var paths a command interpolates: `${p.train.n_est}` -> p.train.n_est. */
function referencedVars(cmd: RawStage['cmd']): string[] {
  const text = cmd === undefined ? '' : typeof cmd === 'string' ? cmd : cmd.join(' ');
  return [...text.matchAll(/\$\{\s*([A-Za-z_][\w.:-]*)\s*\}/g)].map((m) => m[1]!);
}

/** A dep that is this file, a folder holding it, or a glob matching it. */
function depCovers(dep: string, file: string): boolean {
  return dep === file || file.startsWith(dep.replace(/\/+$/, '') + '/') || (isGlob(dep) && picomatch.isMatch(file, dep));
}

function remoteCacheOf(raw: RawPipeline['remote_cache']): Pick<Pipeline, 'remoteCache'> {
  if (raw === undefined) return {};
  return { remoteCache: typeof raw === 'string' ? { url: raw, readOnly: false } : { url: raw.url, readOnly: !!raw.read_only } };
}
