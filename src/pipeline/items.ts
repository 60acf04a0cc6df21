/** The items a `foreach` stage is expanded over, and the stable job key of each. */
import { hash } from 'node:crypto';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { isGlob } from './paths.js';

export interface ForeachItem {
  item: string;
  job: string;
}

export class ItemsError extends Error {}

export function foreachItems(root: string, value: unknown, varName: string): ForeachItem[] {
  const entries = Array.isArray(value) ? value : [value];
  const items: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string' && typeof entry !== 'number') {
      throw new ItemsError(`var '${varName}' must be a path, a glob or a list of them`);
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
  if (items.length === 0) throw new ItemsError(`var '${varName}' is an empty list`);
  return [...new Set(items)].map((item) => ({ item, job: jobKey(item) }));
}

/** slug of the basename plus 8 hex digits of the item's hash: readable, stable and never colliding. */
export function jobKey(item: string): string {
  const base = path.basename(item).replace(/\.[^.]*$/, '');
  const slug = base.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'item';
  const digest = hash('sha256', item.replace(/^\.\//, ''), 'hex').slice(0, 8);
  return `${slug}-${digest}`;
}

export function hasGlobItems(value: unknown): boolean {
  const entries = Array.isArray(value) ? value : [value];
  return entries.some((e) => typeof e === 'string' && isGlob(e));
}
