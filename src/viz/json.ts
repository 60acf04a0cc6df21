/** `--format json`: the SPEC shape `{nodes:[{id,...}], edges:[{from,to}]}`, with kind, state and reasons per node. */
import type { RenderOptions, VizGraph, VizNode } from './model.js';

export function renderJson(graph: VizGraph, opts: RenderOptions): string {
  const nodes = graph.nodes.map((node) => jsonNode(node, opts.status));
  const edges = graph.edges.map(({ from, to }) => ({ from, to }));
  return `${JSON.stringify({ nodes, edges }, null, 2)}\n`;
}

function jsonNode(node: VizNode, status: boolean): Record<string, unknown> {
  const { id, kind, desc, namespace, job, template, cmd, deps, outs, params, members } = node;
  const stateFields = status ? { state: node.state ?? 'unknown', reasons: node.reasons ?? [], lastRun: node.lastRun } : {};
  return { id, kind, desc, namespace, job, template, ...stateFields, cmd, deps, outs, params, members };
}
