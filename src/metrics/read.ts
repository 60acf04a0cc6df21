/**
 * Reading `metrics:` files: JSON or YAML, numbers at any depth, flattened to `a.b.c` keys (list items by
 * index: `per_film.0.wer`). Booleans and text are not metrics; a file that cannot be read says why.
 */
import { readRegularFile } from '../pipeline/safe-read.js';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Stage } from '../pipeline/types.js';

/** file (project-relative) -> flattened key -> number */
export type MetricsByFile = Record<string, Record<string, number>>;

export interface MetricsRead {
  metrics: MetricsByFile;
  /** file -> why it could not be read */
  problems: Record<string, string>;
}

const MAX_METRICS_BYTES = 16 * 1024 * 1024;

/** The metrics files the given stages declare, in order. */
export function metricsFilesOf(stages: Iterable<Stage>): string[] {
  return [...new Set([...stages].flatMap((s) => s.metrics ?? []))];
}

export function readMetrics(root: string, files: string[]): MetricsRead {
  const metrics: MetricsByFile = Object.create(null);
  const problems: Record<string, string> = Object.create(null);
  for (const file of files) {
    try {
      metrics[file] = flattenNumbers(parseMetricsText(readMetricsFile(path.join(root, file), root), file));
    } catch (err) {
      problems[file] = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not there (the stage has not run yet?)' : (err as Error).message.split('\n')[0]!;
    }
  }
  return { metrics, problems };
}

/** Only a regular file inside the project (a symlink the stage left pointing elsewhere is not followed out). */
function readMetricsFile(abs: string, root: string): string {
  return readRegularFile(abs, { within: [root], maxBytes: MAX_METRICS_BYTES }).toString('utf8');
}

function parseMetricsText(text: string, file: string): unknown {
  if (/\.json$/i.test(file)) return JSON.parse(text);
  return parseYaml(text, { maxAliasCount: 100 }); // YAML is a superset of JSON: any other extension
}

/** Nested numbers as `a.b.c` -> number, in document order. */
export function flattenNumbers(value: unknown, prefix = '', into: Record<string, number> = Object.create(null)): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) into[prefix || 'value'] = value;
  else if (Array.isArray(value)) value.forEach((v, i) => flattenNumbers(v, prefix ? `${prefix}.${i}` : String(i), into));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flattenNumbers(v, prefix ? `${prefix}.${k}` : k, into);
  }
  return into;
}

export interface MetricValue {
  file: string;
  key: string;
  value: number;
}

export function metricList(metrics: MetricsByFile): MetricValue[] {
  return Object.entries(metrics).flatMap(([file, values]) => Object.entries(values).map(([key, value]) => ({ file, key, value })));
}

/** Names for table columns: the key alone when no other file has that key, else `file:key`. */
export function displayNames(pairs: { file: string; key: string }[]): string[] {
  const files = new Map<string, Set<string>>();
  for (const { file, key } of pairs) (files.get(key) ?? files.set(key, new Set()).get(key)!).add(file);
  return pairs.map(({ file, key }) => (files.get(key)!.size === 1 ? key : `${file}:${key}`));
}
