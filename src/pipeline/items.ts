/**
 * The items a `foreach` or `matrix` stage is expanded over, and the stable job key of each. Paths and words
 * get their base name plus a hash; a map (a row of a table, a combination of a matrix) gets its own values
 * when they make a safe name (`train@cnn-en`), and a hash only when they do not.
 */
import { hash } from 'node:crypto';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { stableStringify } from '../util/stable-json.js';
import { isGlob } from './paths.js';

export interface ForeachItem {
  item: unknown;
  job: string;
}

export class ItemsError extends Error {}

type Row = Record<string, unknown>;

/** A row of a table (a sheet, a list of maps) is named by its first value, else by all its values. */
export const TABLE_NAMINGS = [(row: Row) => [Object.values(row)[0]], (row: Row) => Object.values(row)];

export function foreachItems(root: string, value: unknown, varName: string): ForeachItem[] {
  const entries = Array.isArray(value) ? value : [value];
  const items: string[] = [];
  const rows: Row[] = [];
  for (const entry of entries) {
    if (isRow(entry)) {
      rows.push(entry);
      continue;
    }
    if (typeof entry !== 'string' && typeof entry !== 'number') {
      throw new ItemsError(`var '${varName}' must be a path, a glob, a list of them or a list of maps`);
    }
    const text = String(entry);
    if (!isGlob(text)) {
      items.push(text);
      continue;
    }
    const matches = globSync(text, { cwd: root, onlyFiles: true, dot: false }).sort();
    if (matches.length === 0) throw new ItemsError(`var '${varName}': no file matches '${text}'`);
    items.push(...matches);
  }
  if (items.length === 0 && rows.length === 0) throw new ItemsError(`var '${varName}' is an empty list`);
  if (items.length && rows.length) throw new ItemsError(`var '${varName}' mixes maps with paths or words: make every item a map (a table), or none`);
  if (rows.length) return rowItems(rows, TABLE_NAMINGS);
  return [...new Set(items)].map((item) => ({ item, job: jobKey(item) }));
}

/** Every combination of the matrix's lists, the first key varying slowest (as DVC's matrix). */
export function matrixItems(matrix: Record<string, unknown[]>): ForeachItem[] {
  let combinations: Row[] = [Object.create(null)];
  for (const [key, values] of Object.entries(matrix)) {
    combinations = combinations.flatMap((c) => values.map((v) => Object.assign(Object.create(null), c, { [key]: v })));
  }
  return rowItems(combinations, [(row) => Object.values(row)]);
}

/**
 * The rows of a table as items: identical rows once. Each is named by the first of `namings` that gives it a
 * safe name no other row gets (a sample sheet: its first column, else all its values: `A-1`, `A-2`), else by a
 * slug of its values plus a hash.
 */
export function rowItems(rows: Row[], namings: ((row: Row) => unknown[])[]): ForeachItem[] {
  const unique = new Map<string, Row>();
  for (const row of rows) {
    const text = stableStringify(row);
    if (!unique.has(text)) unique.set(text, row);
  }
  const entries = [...unique];
  const jobs = new Array<string | undefined>(entries.length);
  for (const naming of namings) {
    const names = entries.map(([, row], i) => (jobs[i] === undefined ? readableName(naming(row)) : undefined));
    const taken = new Map<string, number>();
    for (const name of [...names, ...jobs]) if (name !== undefined) taken.set(name, (taken.get(name) ?? 0) + 1);
    names.forEach((name, i) => {
      if (name !== undefined && taken.get(name) === 1) jobs[i] = name;
    });
  }
  return entries.map(([text, row], i) => ({ item: row, job: jobs[i] ?? hashedName(namings[0]!(row), text) }));
}

const SAFE_JOB = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_READABLE = 64;

function readableName(parts: unknown[]): string | undefined {
  if (!parts.every((p) => typeof p === 'string' || typeof p === 'number' || typeof p === 'boolean')) return undefined;
  const name = parts.map(String).join('-');
  return name.length <= MAX_READABLE && SAFE_JOB.test(name) ? name : undefined;
}

function hashedName(parts: unknown[], text: string): string {
  const words = parts.filter((p) => typeof p === 'string' || typeof p === 'number').map(String).join('-');
  return `${slug(words)}-${hash('sha256', text, 'hex').slice(0, 8)}`;
}

/** slug of the basename plus 8 hex digits of the item's hash: readable, stable and never colliding. */
export function jobKey(item: string): string {
  const base = path.basename(item).replace(/\.[^.]*$/, '');
  const digest = hash('sha256', item.replace(/^\.\//, ''), 'hex').slice(0, 8);
  return `${slug(base)}-${digest}`;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'item';
}

function isRow(value: unknown): value is Row {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function hasGlobItems(value: unknown): boolean {
  const entries = Array.isArray(value) ? value : [value];
  return entries.some((e) => typeof e === 'string' && isGlob(e));
}
