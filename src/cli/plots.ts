/**
 * pipe plots: the declared `plots:` files and the metrics across the recorded runs (and against the swept
 * values of the latest sweep) as one self-contained HTML page.
 */
import path from 'node:path';
import type { GlobalOptions } from './options.js';
import { openWithShorthands } from './session.js';
import { readPlotFile } from '../viz/plot-files.js';
import { renderPlotsHtml } from '../viz/plots-html.js';
import type { Plot, PlotsData } from '../viz/plots-page/data.js';
import { RunHistory, type RunRecord } from '../state/run-history.js';
import { displayNames, metricList } from '../metrics/read.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Project } from '../project.js';

const MAX_METRIC_PLOTS = 40;

export async function plotsCommand(words: string[], opts: { set: string[]; output?: string }, globals: GlobalOptions): Promise<void> {
  const { project } = await openWithShorthands(globals, opts.set, words);
  const data = plotsData(project);
  const target = opts.output ? path.resolve(opts.output) : path.join(project.root, 'plots.html');
  writeFileAtomic(target, renderPlotsHtml(data));
  const shown = path.relative(process.cwd(), target) || target;
  if (globals.json) process.stdout.write(JSON.stringify({ file: shown, plots: data.plots.map((p) => ({ title: p.title, source: p.source, series: p.series.length })), problems: data.problems }) + '\n');
  else {
    process.stdout.write(`${shown}: ${data.plots.length} plot${data.plots.length === 1 ? '' : 's'}\n`);
    for (const p of data.problems) process.stderr.write(`pipe: ${p.file}: ${p.why}\n`);
  }
}

export function plotsData(project: Project): PlotsData {
  const problems: PlotsData['problems'] = [];
  const plots: Plot[] = [];
  for (const file of new Set([...project.stages.values()].flatMap((s) => s.plots ?? []))) {
    try {
      plots.push(readPlotFile(project.root, file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({ file, why: code === 'ENOENT' ? 'not there (the stage has not run yet?)' : (err as Error).message.split('\n')[0]! });
    }
  }
  const runs = new RunHistory(project.stateDir).all().filter((r) => Object.keys(r.metrics).length > 0);
  plots.push(...sweepPlots(runs), ...historyPlots(runs));
  return { title: `pipe plots: ${path.basename(project.root)}`, plots, problems };
}

/** Each metric over the recorded runs, oldest first. */
function historyPlots(runs: RunRecord[]): Plot[] {
  const pairs = metricPairs(runs).slice(0, MAX_METRIC_PLOTS);
  const names = displayNames(pairs);
  return pairs.map((p, i) => ({
    title: names[i]!,
    source: `${p.file}, over the ${runs.length} recorded runs`,
    xLabel: 'run',
    xLabels: runs.map((r) => r.id),
    series: [{ name: names[i]!, points: runs.flatMap((r, x) => (r.metrics[p.file]?.[p.key] === undefined ? [] : [[x, r.metrics[p.file]![p.key]!] as [number, number]])) }],
  }));
}

/**
 * The latest sweep: each metric against its first swept key (when its values are numbers), one series per
 * value of the other keys.
 */
function sweepPlots(runs: RunRecord[]): Plot[] {
  const last = [...runs].reverse().find((r) => r.sweep)?.sweep;
  if (!last) return [];
  const variants = runs.filter((r) => r.sweep?.id === last.id);
  const [axis, ...others] = Object.keys(last.values);
  if (axis === undefined || !variants.every((r) => Number.isFinite(Number(r.sweep!.values[axis])))) return [];
  const pairs = metricPairs(variants).slice(0, MAX_METRIC_PLOTS);
  const names = displayNames(pairs);
  return pairs.map((p, i) => {
    const series = new Map<string, [number, number][]>();
    for (const r of variants) {
      const value = r.metrics[p.file]?.[p.key];
      if (value === undefined) continue;
      const label = others.length ? others.map((k) => `${k}=${String(r.sweep!.values[k])}`).join(' ') : names[i]!;
      (series.get(label) ?? series.set(label, []).get(label)!).push([Number(r.sweep!.values[axis]), value]);
    }
    return { title: `${names[i]} against ${axis}`, source: `${last.id} (${variants.length} variants)`, xLabel: axis, series: [...series].map(([name, points]) => ({ name, points })) };
  });
}

function metricPairs(runs: RunRecord[]): { file: string; key: string }[] {
  const seen = new Set<string>();
  return runs.flatMap((r) => metricList(r.metrics)).filter((m) => {
    const id = JSON.stringify([m.file, m.key]);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  }).map(({ file, key }) => ({ file, key }));
}
