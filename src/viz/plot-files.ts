/**
 * Reading `plots:` files into series: a CSV or TSV with a header row (the first column is x, every other
 * numeric column a series), or JSON: a list of rows (objects, keys as in a CSV header), a map of name -> list
 * of numbers, or one list of numbers. An x column that is not all numbers is categorical (film names).
 */
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readRegularFile } from '../pipeline/safe-read.js';
import type { Plot, PlotSeries } from './plots-page/data.js';

const MAX_PLOT_BYTES = 32 * 1024 * 1024;
const MAX_POINTS = 100_000;

export function readPlotFile(root: string, file: string): Plot {
  const text = readRegularFile(path.join(root, file), { within: [root], maxBytes: MAX_PLOT_BYTES }).toString('utf8');
  const rows = /\.(csv|tsv)$/i.test(file) ? delimited(text, /\.tsv$/i.test(file) ? '\t' : ',') : jsonRows(/\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text));
  return plotOfRows(file, rows);
}

type Table = { header: string[]; rows: string[][] } | { series: PlotSeries[] };

function plotOfRows(file: string, table: Table): Plot {
  if ('series' in table) {
    if (table.series.length === 0) throw new Error('no numbers to draw');
    return { title: file, source: file, xLabel: 'index', series: table.series };
  }
  const { header, rows } = table;
  if (header.length < 2) throw new Error('needs a header row and at least two columns: x, then one or more series');
  if (rows.length * (header.length - 1) > MAX_POINTS) throw new Error(`more than ${MAX_POINTS} points: too many to draw`);
  const xs = rows.map((r) => r[0] ?? '');
  const numericX = xs.every((v) => isNumber(v));
  const series: PlotSeries[] = [];
  for (let col = 1; col < header.length; col++) {
    const points: [number, number][] = [];
    rows.forEach((r, i) => {
      const v = r[col];
      if (v !== undefined && isNumber(v)) points.push([numericX ? Number(xs[i]) : i, Number(v)]);
    });
    if (points.length) series.push({ name: header[col]!, points });
  }
  if (series.length === 0) throw new Error('no column after the first holds numbers');
  return { title: file, source: file, xLabel: header[0]!, ...(numericX ? {} : { xLabels: xs }), series };
}

function isNumber(v: string): boolean {
  return v.trim() !== '' && Number.isFinite(Number(v));
}

/** RFC 4180: quoted fields may hold the delimiter, quotes ("") and newlines. */
export function delimited(text: string, sep: string): Table {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === sep) { record.push(field); field = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      if (record.some((f) => f !== '')) records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  record.push(field);
  if (record.some((f) => f !== '')) records.push(record);
  const [header, ...rows] = records;
  if (!header) throw new Error('empty');
  return { header: header.map((h) => h.trim()), rows };
}

function jsonRows(value: unknown): Table {
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return { series: [{ name: 'value', points: value.map((v, i) => [i, v as number]) }] };
  if (Array.isArray(value) && value.length && value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
    const header = [...new Set(value.flatMap((v) => Object.keys(v as object)))];
    return { header, rows: value.map((v) => header.map((h) => cell((v as Record<string, unknown>)[h]))) };
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const series = Object.entries(value as Record<string, unknown>)
      .filter((e): e is [string, number[]] => Array.isArray(e[1]) && e[1].every((v) => typeof v === 'number'))
      .map(([name, ys]) => ({ name, points: ys.map((y, i) => [i, y] as [number, number]) }));
    return { series };
  }
  throw new Error('expected a list of rows, a map of name -> list of numbers, or a list of numbers');
}

function cell(v: unknown): string {
  return typeof v === 'number' || typeof v === 'string' ? String(v) : '';
}
