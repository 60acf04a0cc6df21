/** pipe graph: the DAG as ascii, dot, mermaid, json, html, svg or png, optionally coloured by state. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import type { StageStateReport } from './states.js';
import type { VizFormat, VizGraph, VizNode } from '../viz/index.js';
import { openEngine } from '../plan/context.js';
import type { GlobalOptions } from './options.js';
import { openWithShorthands, selectStages } from './session.js';
import { stageStates } from './states.js';
import { UserError } from '../util/errors.js';
import { terminalWidth } from '../report/format.js';

interface GraphOptions {
  format?: VizFormat;
  output?: string;
  status?: boolean;
  collapse?: 'auto' | 'none' | 'all';
  set: string[];
}

/** `-o graph.html` alone means html; `.gv` is dot, `.mmd` mermaid. */
const FORMAT_BY_EXTENSION: Record<string, VizFormat> = {
  '.html': 'html', '.htm': 'html', '.dot': 'dot', '.gv': 'dot', '.mmd': 'mermaid', '.mermaid': 'mermaid',
  '.json': 'json', '.svg': 'svg', '.png': 'png', '.txt': 'ascii',
};

export async function graphCommand(targets: string[], opts: GraphOptions, globals: GlobalOptions): Promise<void> {
  const format = opts.format ?? (opts.output ? FORMAT_BY_EXTENSION[path.extname(opts.output).toLowerCase()] : undefined) ?? 'ascii';
  const toFile = opts.output !== undefined;
  if (!toFile && (format === 'png') && process.stdout.isTTY) {
    throw new UserError('--format png is binary: write it to a file with -o graph.png');
  }
  const { project, targets: chosen } = await openWithShorthands(globals, opts.set, targets);
  targets = chosen;
  const order = selectStages(project, targets);
  const states = opts.status ? await stageStates(project, order) : undefined;
  const graph = vizGraph(project, order, states);
  const { render } = await import('../viz/index.js');
  const color = !toFile && globals.color && process.stdout.isTTY === true;
  const output = await render(graph, format, {
    status: !!opts.status,
    color,
    width: toFile ? 80 : terminalWidth(process.stdout) ?? 80,
    collapse: opts.collapse,
    // the terminal drawing needs no heading: the user just typed the command
    title: format === 'ascii' ? undefined : graphTitle(project, targets),
  });
  if (toFile) {
    writeOutput(opts.output!, output);
    if (!globals.quiet) process.stderr.write(`wrote ${opts.output} (${format}, ${graph.nodes.length} stage(s))\n`);
  } else {
    process.stdout.write(typeof output === 'string' && !output.endsWith('\n') ? output + '\n' : output);
  }
}

/** 'subtitle · sub1/pipeline.yaml': what is drawn, and from which project. */
function graphTitle(project: Project, targets: string[]): string {
  const what = targets.length ? targets.join(' ') : 'default targets';
  return `${what} · ${path.basename(project.root)}/${path.basename(project.file)}`;
}

function writeOutput(file: string, output: string | Buffer): void {
  try {
    writeFileSync(path.resolve(file), output);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`cannot write ${file}: ${e.code === 'ENOENT' ? 'no such folder' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
  }
}

export function vizGraph(project: Project, order: string[], states?: StageStateReport[]): VizGraph {
  const selected = new Set(order);
  const byName = new Map(states?.map((s) => [s.name, s]));
  const records = openEngine(project).records;
  const nodes: VizNode[] = order.map((name) => {
    const stage = project.stages.get(name)!;
    const state = byName.get(name);
    const record = records.stage(name);
    const base = stage.template ?? name;
    const colon = base.lastIndexOf(':');
    return {
      id: name,
      kind: stage.fetch ? 'fetch' : 'stage',
      desc: stage.desc,
      namespace: colon > 0 ? base.slice(0, colon) : undefined,
      job: stage.job,
      template: stage.template,
      ...(state ? { state: state.state, reasons: state.reasons } : {}),
      cmd: stage.cmd === undefined ? `fetch ${JSON.stringify(stage.fetch)}` : typeof stage.cmd === 'string' ? stage.cmd : stage.cmd.join(' '),
      deps: stage.deps,
      outs: stage.outs,
      params: stage.params,
      ...(record ? { lastRun: { at: record.at, ms: record.ms } } : {}),
    };
  });
  const edges = order.flatMap((to) => (project.graph.upstream[to] ?? []).filter((f) => selected.has(f)).map((from) => ({ from, to })));
  return { nodes, edges };
}
