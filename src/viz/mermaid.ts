/** `--format mermaid`: a `flowchart LR` that GitHub renders in a fenced block; Mermaid-safe ids, real names as labels. */
import type { RenderOptions, StageState, VizGraph, VizNode } from './model.js';
import { ALL_STATES, STATE_STYLES } from './states.js';
import { displayName, namespaceClusters } from './groups.js';

export function renderMermaid(graph: VizGraph, opts: RenderOptions): string {
  const ids = mermaidIds(graph.nodes.map((n) => n.id));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const clustered = new Set<string>();
  const lines = ['flowchart LR'];
  if (opts.title) lines.unshift('---', `title: ${JSON.stringify(opts.title)}`, '---');
  namespaceClusters(graph).forEach((cluster, index) => {
    lines.push(`  subgraph ns${index} ["${escapeLabel(cluster.label)}"]`);
    for (const id of cluster.ids) {
      lines.push(`    ${nodeLine(byId.get(id)!, ids.get(id)!, opts.status)}`);
      clustered.add(id);
    }
    lines.push('  end');
  });
  for (const node of graph.nodes) if (!clustered.has(node.id)) lines.push(`  ${nodeLine(node, ids.get(node.id)!, opts.status)}`);
  for (const edge of graph.edges) lines.push(`  ${ids.get(edge.from)} --> ${ids.get(edge.to)}`);
  if (opts.status) lines.push(...stateClasses(graph, ids));
  return `${lines.join('\n')}\n`;
}

function nodeLine(node: VizNode, id: string, status: boolean): string {
  const state = status ? (node.state ?? 'unknown') : undefined;
  const text = escapeLabel(displayName(node)) + (state ? `<br/>${STATE_STYLES[state].marker} ${STATE_STYLES[state].label}` : '');
  if (node.kind === 'fetch') return `${id}[("${text}")]`;
  if (node.kind === 'group') return `${id}[["${text}"]]`;
  return `${id}["${text}"]`;
}

function stateClasses(graph: VizGraph, ids: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const state of ALL_STATES) {
    const members = graph.nodes.filter((n) => (n.state ?? 'unknown') === state).map((n) => ids.get(n.id)!);
    if (members.length === 0) continue;
    const style = STATE_STYLES[state];
    lines.push(`  classDef ${className(state)} fill:${style.fill},stroke:${style.stroke},color:#1f2328`);
    lines.push(`  class ${members.join(',')} ${className(state)}`);
  }
  return lines;
}

const className = (state: StageState): string => `state_${state.replace(/-/g, '_')}`;

/** Ids made of [A-Za-z0-9_], prefixed so keywords like `end` never clash, deduplicated. */
export function mermaidIds(names: string[]): Map<string, string> {
  const used = new Set<string>();
  const ids = new Map<string, string>();
  for (const name of names) {
    const base = `s_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(name, id);
  }
  return ids;
}

function escapeLabel(text: string): string {
  return text.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}
