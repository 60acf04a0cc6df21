/** `--format ascii`: boxes layered top to bottom like `dvc dag`, fitted to the terminal width. */
import type { RenderOptions, StageState, VizGraph, VizNode } from './model.js';
import { ALL_STATES, STATE_STYLES, paint } from './states.js';
import { displayName } from './groups.js';
import { adjacency } from './layout.js';
import { asciiLayout, MAX_EDGE_SPAN, type AsciiLayout, type Item } from './ascii-layout.js';
import { Canvas } from './canvas.js';

export function renderAscii(graph: VizGraph, opts: RenderOptions): string {
  const width = opts.width ?? 80;
  if (graph.nodes.length === 0) return '(no stages)\n';
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const contents = new Map(graph.nodes.map((n) => [n.id, boxText(n, opts.status)]));
  const items = graph.nodes.map((n) => ({ id: n.id, width: boxWidth(contents.get(n.id)!), virtual: false }));
  const layout = asciiLayout(items, graph.edges, width);
  const diagram = drawDiagram(layout, (id) => ({ node: byId.get(id)!, text: contents.get(id)! }), opts);
  const lines = [...(opts.title ? [opts.title, ''] : []), ...diagram, ...jumpList(layout.jumps, width), ...footer(graph, opts, width)];
  return `${lines.join('\n')}\n`;
}

function boxText(node: VizNode, status: boolean): string[] {
  const name = displayName(node);
  if (!status) return [name];
  const style = STATE_STYLES[node.state ?? 'unknown'];
  return [name, `${style.marker} ${style.label}`];
}

const boxWidth = (text: string[]): number => Math.max(...text.map((line) => [...line].length)) + 4;

type Lookup = (id: string) => { node: VizNode; text: string[] };

function drawDiagram(layout: AsciiLayout, lookup: Lookup, opts: RenderOptions): string[] {
  const canvas = new Canvas();
  const ids = layout.layers.flat().map((item) => item.id);
  const succs = adjacency(ids, layout.edges, 'from');
  const boxHeight = opts.status ? 4 : 3;
  const virtual = new Set(layout.layers.flat().filter((i) => i.virtual).map((i) => i.id));
  let y = 0;
  layout.layers.forEach((layer, k) => {
    for (const item of layer) {
      const x = layout.center.get(item.id)!;
      if (item.virtual) canvas.vertical(x, y, y + boxHeight - 1, true, true);
      else drawBox(canvas, item, layout.left.get(item.id)!, y, x, succs.get(item.id)!.length > 0, lookup(item.id), opts);
    }
    y += boxHeight;
    if (k < layout.layers.length - 1) y += drawGap(canvas, layer, layout, succs, virtual, y);
  });
  return canvas.toLines();
}

function drawBox(canvas: Canvas, item: Item, left: number, top: number, exit: number, hasSuccessors: boolean, box: { node: VizNode; text: string[] }, opts: RenderOptions): void {
  const state: StageState | undefined = opts.status ? (box.node.state ?? 'unknown') : undefined;
  const ink = (chars: string[]): string[] => (opts.color ? chars.map((c) => paint(c, state, true)) : chars);
  const inner = item.width - 2;
  const bottom = [...'─'.repeat(inner)];
  if (hasSuccessors) bottom[exit - left - 1] = '┬';
  canvas.put(left, top, ink([...`┌${'─'.repeat(inner)}┐`]));
  box.text.forEach((line, i) => {
    const padded = [...line.padEnd(inner - 2)];
    const cells = i === 0 ? padded : ink(padded);
    canvas.put(left, top + 1 + i, [...ink(['│']), ' ', ...cells, ' ', ...ink(['│'])]);
  });
  canvas.put(left, top + 1 + box.text.length, ink(['└', ...bottom, '┘']));
}

/** The rows between two layers: one horizontal track per fanning source, then arrowheads. Returns its height. */
function drawGap(canvas: Canvas, layer: Item[], layout: AsciiLayout, succs: Map<string, string[]>, virtual: Set<string>, top: number): number {
  const connections = layer
    .map((item) => {
      const x = layout.center.get(item.id)!;
      return { x, targets: succs.get(item.id)!.map((id) => ({ id, x: entryColumn(id, x, layout, virtual) })) };
    })
    .filter((c) => c.targets.length > 0);
  const isStraight = (c: (typeof connections)[number]): boolean => c.targets.length === 1 && c.targets[0]!.x === c.x;
  const routed = connections.filter((c) => !isStraight(c)).map((c) => ({ ...c, span: spanOf(c.x, c.targets.map((t) => t.x)) }));
  const trackOf = assignTracks(routed.map((c) => c.span));
  const trackCount = Math.max(0, ...trackOf.map((t) => t + 1));
  const arrowRow = trackCount === 0 ? top : top + trackCount + 1;
  const arrow = (id: string, x: number): void => {
    if (virtual.has(id)) canvas.vertical(x, arrowRow, arrowRow, true, true);
    else canvas.put(x, arrowRow, ['▼']);
  };
  for (const c of connections.filter(isStraight)) {
    if (arrowRow > top) canvas.vertical(c.x, top, arrowRow - 1, true, true);
    arrow(c.targets[0]!.id, c.x);
  }
  routed.forEach((c, i) => {
    const row = top + 1 + trackOf[i]!;
    canvas.vertical(c.x, top, row, true);
    canvas.horizontal(row, c.span[0], c.span[1]);
    for (const t of c.targets) {
      canvas.vertical(t.x, row, arrowRow - 1, false, true);
      arrow(t.id, t.x);
    }
  });
  return arrowRow - top + 1;
}

/** Enter a box straight from above when the source sits over it; otherwise at the top centre. */
function entryColumn(target: string, sourceX: number, layout: AsciiLayout, virtual: Set<string>): number {
  if (virtual.has(target)) return layout.center.get(target)!;
  const left = layout.left.get(target)!;
  const right = left + 2 * (layout.center.get(target)! - left);
  return sourceX > left && sourceX < right ? sourceX : layout.center.get(target)!;
}

const spanOf = (x: number, xs: number[]): [number, number] => [Math.min(x, ...xs), Math.max(x, ...xs)];

/** Interval colouring: spans that do not touch share a row. */
function assignTracks(spans: [number, number][]): number[] {
  const rowEnds: number[] = [];
  const order = spans.map((_, i) => i).sort((a, b) => spans[a]![0] - spans[b]![0]);
  const track: number[] = [];
  for (const i of order) {
    const [start, end] = spans[i]!;
    let row = rowEnds.findIndex((rowEnd) => rowEnd < start - 1);
    if (row === -1) row = rowEnds.push(end) - 1;
    else rowEnds[row] = end;
    track[i] = row;
  }
  return track;
}

/** Edges too long to draw, one line per source: `a → b, c`. */
function jumpList(jumps: AsciiLayout['jumps'], width: number): string[] {
  if (jumps.length === 0) return [];
  const targets = new Map<string, string[]>();
  for (const { from, to } of jumps) (targets.get(from) ?? targets.set(from, []).get(from)!).push(to);
  const lines = ['', `Not drawn (more than ${MAX_EDGE_SPAN} rows apart):`];
  for (const [from, to] of targets) lines.push(...wrap(`${from} → ${abbreviate(to)}`, width, '    ', '  '));
  return lines;
}

function footer(graph: VizGraph, opts: RenderOptions, width: number): string[] {
  const lines: string[] = [];
  const groups = graph.nodes.filter((n) => n.kind === 'group' && n.members);
  if (groups.length > 0) {
    lines.push('', 'Folded:');
    for (const g of groups) lines.push(...wrap(`${g.id} = ${abbreviate(g.members!)}`, width, '    ', '  '));
  }
  if (!opts.status) return lines;
  const present = ALL_STATES.filter((state) => graph.nodes.some((n) => (n.state ?? 'unknown') === state));
  lines.push('', present.map((state) => paint(`${STATE_STYLES[state].marker} ${STATE_STYLES[state].label}`, state, opts.color)).join('   '));
  for (const node of graph.nodes) {
    const state = node.state ?? 'unknown';
    if (state === 'fresh' || !node.reasons?.length) continue;
    const head = `${paint(STATE_STYLES[state].marker, state, opts.color)} ${node.id}: `;
    lines.push(...wrap(`${head}${node.reasons.join('; ')}`, width, '    ', '  '));
  }
  return lines;
}

const FOLDED_NAMES_SHOWN = 12;

function abbreviate(names: string[]): string {
  if (names.length <= FOLDED_NAMES_SHOWN) return names.join(', ');
  return `${names.slice(0, FOLDED_NAMES_SHOWN - 1).join(', ')}, … ${names[names.length - 1]} (${names.length} stages)`;
}

/** Word-wrap to the width (ANSI codes do not count), the first line indented by `first`, the rest by `rest`. */
function wrap(text: string, width: number, rest: string, first: string): string[] {
  const visible = (s: string): number => [...s.replace(/\u001b\[[0-9;]*m/g, '')].length;
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    if (visible(line) + visible(word) > width && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = rest;
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines;
}
