/** pipe graph: the DAG as ascii, dot, mermaid, json, html, svg or png, optionally coloured by state. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import type { StageStateReport } from './states.js';
import type { VizFormat, VizGraph, VizNode } from '../viz/index.js';
import { openEngine } from '../plan/context.js';
import type { GlobalOptions } from './options.js';
import { open, selectStages } from './session.js';
import { stageStates } from './states.js';

interface GraphOptions {
  format: VizFormat;
  output?: string;
  status?: boolean;
  collapse?: 'auto' | 'none' | 'all';
  set: string[];
}

export async function graphCommand(targets: string[], opts: GraphOptions, globals: GlobalOptions): Promise<void> {
  const project = await open(globals, opts.set);
  const order = selectStages(project, targets);
  const states = opts.status ? await stageStates(project, order) : undefined;
  const graph = vizGraph(project, order, states);
  const { render } = await import('../viz/index.js');
  const toFile = opts.output !== undefined;
  const color = !toFile && globals.color && process.stdout.isTTY === true;
  const output = await render(graph, opts.format, {
    status: !!opts.status,
    color,
    width: toFile ? 80 : process.stdout.columns || 80,
    collapse: opts.collapse,
    title: path.basename(project.root),
  });
  if (toFile) {
    writeFileSync(path.resolve(opts.output!), output);
    if (!globals.quiet) process.stderr.write(`wrote ${opts.output}\n`);
  } else {
    process.stdout.write(typeof output === 'string' && !output.endsWith('\n') ? output + '\n' : output);
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
      ...(state ? { state: state.state === 'failed' ? 'stale' : state.state, reasons: state.reasons } : {}),
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
