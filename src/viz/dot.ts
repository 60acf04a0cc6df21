/** `--format dot`: Graphviz source, left to right, every id quoted, colours by state, reasons as tooltips. */
import type { RenderOptions, VizGraph, VizNode } from './model.js';
import { NO_STATE_STYLE, STATE_STYLES } from './states.js';
import { displayName, namespaceClusters } from './groups.js';

export function renderDot(graph: VizGraph, opts: RenderOptions): string {
  const clusters = namespaceClusters(graph).map((cluster, index) => {
    const members = cluster.ids.map((id) => `    ${quote(id)};`).join('\n');
    return `  subgraph ${quote(`cluster_${index}`)} {\n    label=${quote(cluster.label)}; style="rounded,dashed"; color="#8c959f"; fontcolor="#57606a";\n${members}\n  }`;
  });
  const lines = [
    'digraph "pipe" {',
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.6${opts.title ? `, label=${quote(opts.title)}, labelloc=t` : ''}];`,
    `  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, fillcolor=${quote(NO_STATE_STYLE.fill)}, color=${quote(NO_STATE_STYLE.stroke)}];`,
    '  edge [color="#8c959f", arrowsize=0.7];',
    ...clusters,
    ...graph.nodes.map((node) => `  ${quote(node.id)} [${nodeAttributes(node, opts.status)}];`),
    ...graph.edges.map((edge) => `  ${quote(edge.from)} -> ${quote(edge.to)};`),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

function nodeAttributes(node: VizNode, status: boolean): string {
  const state = status ? (node.state ?? 'unknown') : undefined;
  const label = state ? `${displayName(node)}\n${STATE_STYLES[state].label}` : displayName(node);
  const attributes: Record<string, string> = { label };
  if (node.kind === 'fetch') attributes.shape = 'cylinder';
  if (node.kind === 'group') attributes.shape = 'box3d';
  if (state) {
    attributes.fillcolor = STATE_STYLES[state].fill;
    attributes.color = STATE_STYLES[state].stroke;
  }
  const tooltip = [node.desc, ...(state ? (node.reasons ?? []) : [])].filter(Boolean).join('\n');
  if (tooltip) attributes.tooltip = tooltip;
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${quote(value)}`)
    .join(', ');
}

/** A DOT double-quoted string: backslashes and quotes escaped, newlines as `\n` line breaks. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}
