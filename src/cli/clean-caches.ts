/**
 * pipe clean --caches [NAME...]: list the caches with their sizes, then empty them. Without names: every
 * application cache (`cache: {apps: …}`); the model roots (hf_home, torch_home, mlx_home: tens of GB the
 * fetch stages download again) only when named. A cache folder stays, empty; the Hugging Face token in
 * hf_home is kept.
 */
import { lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { cacheFolderEscape } from '../exec/cache-folders.js';
import { appCacheVariable, MODEL_ROOT_NAMES, MODEL_ROOT_VARIABLES, type ModelRootName } from '../pipeline/reserved-env.js';
import { isWithinFolder } from '../pipeline/paths.js';
import type { Pipeline } from '../pipeline/types.js';
import { bytes } from '../report/format.js';
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import type { GlobalOptions } from './options.js';

export interface CacheUsage {
  name: string;
  kind: 'app' | 'model';
  /** the variable stages see it as */
  variable: string;
  /** absolute folder */
  path: string;
  exists: boolean;
  bytes: number;
  files: number;
}

/** Files a model root keeps when emptied: the user's Hugging Face login. */
const KEPT: Partial<Record<ModelRootName, string[]>> = { hf_home: ['token', 'stored_tokens'] };

export function cleanCaches(pipeline: Pipeline, names: string[], dryRun: boolean, globals: GlobalOptions): void {
  const chosen = chooseCaches(pipeline, names);
  const usage = chosen.map((c) => measure(pipeline, c));
  if (globals.json) {
    if (!dryRun) usage.forEach((u) => empty(u));
    process.stdout.write(JSON.stringify({ dryRun, caches: usage, emptied: dryRun ? [] : usage.filter((u) => u.exists).map((u) => u.name) }) + '\n');
    return;
  }
  if (usage.length === 0) {
    if (!globals.quiet) process.stdout.write('no application caches declared (cache: {apps: {NAME: FOLDER}}); a model root is emptied only when named: pipe clean --caches hf_home\n');
    return;
  }
  if (!globals.quiet || dryRun) printUsage(pipeline, usage, dryRun);
  if (dryRun) {
    process.stdout.write('dry run: nothing removed\n');
    return;
  }
  for (const u of usage) empty(u);
  const total = usage.reduce((sum, u) => sum + u.bytes, 0);
  if (!globals.quiet) process.stdout.write(`emptied ${usage.length} cache(s), ${bytes(total)} freed\n`);
}

interface Chosen {
  name: string;
  kind: 'app' | 'model';
  dir: string;
}

function chooseCaches(pipeline: Pipeline, names: string[]): Chosen[] {
  const { hfHome, torchHome, mlxHome, apps } = pipeline.cache;
  const models: Record<ModelRootName, string> = { hf_home: hfHome, torch_home: torchHome, mlx_home: mlxHome };
  const appList = Object.entries(apps).map(([name, dir]): Chosen => ({ name, kind: 'app', dir }));
  if (names.length === 0) return appList;
  const known = [...appList.map((a) => a.name), ...MODEL_ROOT_NAMES];
  return [...new Set(names)].map((name) => {
    if ((MODEL_ROOT_NAMES as string[]).includes(name)) return { name, kind: 'model', dir: models[name as ModelRootName] };
    const app = appList.find((a) => a.name === name);
    if (!app) throw new UserError(`no cache named '${name}'${didYouMean(name, known)}; caches: ${known.join(', ')}`);
    return app;
  });
}

function measure(pipeline: Pipeline, c: Chosen): CacheUsage {
  const leadsTo = cacheFolderEscape(pipeline, c.dir);
  if (leadsTo !== undefined) throw new UserError(`not emptying cache ${c.name}: '${path.relative(pipeline.root, c.dir)}' leads outside the project through a symlink (to ${leadsTo})`);
  const variable = c.kind === 'app' ? appCacheVariable(c.name) : MODEL_ROOT_VARIABLES[c.name as ModelRootName][0];
  const st = statSync(c.dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return { name: c.name, kind: c.kind, variable, path: c.dir, exists: false, bytes: 0, files: 0 };
  const kept = keptIn(c);
  let total = 0;
  let files = 0;
  for (const entry of readdirSync(c.dir)) {
    if (kept.has(entry)) continue;
    const used = usageOf(path.join(c.dir, entry));
    total += used.bytes;
    files += used.files;
  }
  return { name: c.name, kind: c.kind, variable, path: c.dir, exists: true, bytes: total, files };
}

/** Apparent size of a file or folder, links counted as themselves (never followed). Iterative: caches nest deep. */
function usageOf(start: string): { bytes: number; files: number } {
  let total = 0;
  let files = 0;
  const stack = [start];
  while (stack.length) {
    const p = stack.pop()!;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) {
      for (const entry of readdirSync(p)) stack.push(path.join(p, entry));
      continue;
    }
    total += st.size;
    files++;
  }
  return { bytes: total, files };
}

/** Removes what the folder holds (a link inside it is removed, never what it points to); the folder stays. */
function empty(u: CacheUsage): void {
  if (!u.exists) return;
  const kept = keptIn(u);
  for (const entry of readdirSync(u.path)) {
    if (!kept.has(entry)) rmSync(path.join(u.path, entry), { recursive: true, force: true });
  }
}

function keptIn(c: { name: string; kind: 'app' | 'model' }): Set<string> {
  return new Set(c.kind === 'model' ? KEPT[c.name as ModelRootName] ?? [] : []);
}

function printUsage(pipeline: Pipeline, usage: CacheUsage[], dryRun: boolean): void {
  process.stdout.write(`${dryRun ? 'would empty' : 'emptying'} ${usage.length} cache(s):\n`);
  const shown = usage.map((u) => ({ u, where: isWithinFolder(pipeline.root, u.path) ? path.relative(process.cwd(), u.path) || '.' : u.path }));
  const nameWidth = Math.max(...usage.map((u) => u.name.length));
  const whereWidth = Math.max(...shown.map((s) => s.where.length));
  for (const { u, where } of shown) {
    const size = u.exists ? `${bytes(u.bytes).padStart(9)}  ${u.files} file(s)` : '    (none yet)';
    process.stdout.write(`  ${u.name.padEnd(nameWidth)}  ${where.padEnd(whereWidth)}  ${size}\n`);
  }
}
