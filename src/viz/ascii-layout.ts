/** Terminal layout: layers that fit the width, virtual points for edges that skip layers, columns for every box. */
import { adjacency, orderLayers, type Edge } from './layout.js';
import { fitLayers } from './ascii-fit.js';

export interface Item {
  id: string;
  width: number;
  /** a point on an edge that passes through this layer (drawn as a vertical line) */
  virtual: boolean;
}

export interface AsciiLayout {
  layers: Item[][];
  /** every edge spans exactly one layer gap (long edges go through virtual items) */
  edges: Edge[];
  /** edges between boxes more than MAX_EDGE_SPAN layers apart: listed, not drawn */
  jumps: Edge[];
  left: Map<string, number>;
  center: Map<string, number>;
}

/** Columns between two boxes; a line passing through a layer sits one column from its neighbours. */
/**
 * A line may cross at most this many layers. Drawing every edge of a graph far wider than the terminal
 * would take an area that grows with the square of its size (hours at 5,000 stages); those are listed.
 */
export const MAX_EDGE_SPAN = 8;

const gapBetween = (a: Item, b: Item): number => (a.virtual || b.virtual ? 1 : 2);

export function asciiLayout(boxes: Item[], edges: Edge[], maxWidth: number): AsciiLayout {
  const ids = boxes.map((b) => b.id);
  const widthOf = new Map(boxes.map((b) => [b.id, b.width]));
  const layerOf = fitLayers(ids, edges, widthOf, maxWidth, MAX_EDGE_SPAN);
  const chained = chainLongEdges(edges, layerOf);
  for (const v of chained.virtuals) widthOf.set(v, 1);
  const byLayer: string[][] = [];
  for (const [id, layer] of layerOf) (byLayer[layer] ??= []).push(id);
  const ordered = orderLayers(Array.from(byLayer, (l) => l ?? []), chained.edges);
  const layers = ordered.map((layer) => layer.map((id) => ({ id, width: widthOf.get(id)!, virtual: chained.virtuals.has(id) })));
  const left = placeColumns(layers, chained.edges, maxWidth);
  const center = new Map([...left].map(([id, x]) => [id, x + Math.floor((widthOf.get(id)! - 1) / 2)]));
  return { layers, edges: chained.edges, jumps: chained.jumps, left, center };
}

/**
 * Replace each edge that skips layers with a chain of virtual points, shared by all long edges of one source;
 * edges longer than MAX_EDGE_SPAN become jumps.
 */
function chainLongEdges(edges: Edge[], layerOf: Map<string, number>): { edges: Edge[]; virtuals: Set<string>; jumps: Edge[] } {
  const virtuals = new Set<string>();
  const out = new Map<string, Edge>();
  const jumps: Edge[] = [];
  const add = (from: string, to: string): void => void out.set(`${from}\u0000${to}`, { from, to });
  for (const { from, to } of edges) {
    const start = layerOf.get(from)!;
    const end = layerOf.get(to)!;
    if (end - start > MAX_EDGE_SPAN) {
      jumps.push({ from, to });
      continue;
    }
    let previous = from;
    for (let k = start + 1; k < end; k++) {
      const point = `\u0000${from}\u0000${k}`;
      if (!virtuals.has(point)) {
        virtuals.add(point);
        layerOf.set(point, k);
      }
      add(previous, point);
      previous = point;
    }
    add(previous, to);
  }
  return { edges: [...out.values()], virtuals, jumps };
}

/** Put each item under the mean of its neighbours, keeping the order and the width; down, up, down. */
function placeColumns(layers: Item[][], edges: Edge[], maxWidth: number): Map<string, number> {
  const ids = layers.flat().map((item) => item.id);
  const preds = adjacency(ids, edges, 'to');
  const succs = adjacency(ids, edges, 'from');
  const left = new Map<string, number>();
  const center = (item: Item): number => left.get(item.id)! + (item.width - 1) / 2;
  const centerOf = new Map<string, Item>(layers.flat().map((item) => [item.id, item]));
  const desired = (item: Item, neighbours: Map<string, string[]>): number | undefined => {
    const around = neighbours.get(item.id)!;
    if (around.length === 0 || !left.has(around[0]!)) return undefined;
    return around.reduce((sum, id) => sum + center(centerOf.get(id)!), 0) / around.length;
  };
  const placeRow = (row: Item[], neighbours: Map<string, string[]>): void => {
    const lefts = fitRow(row, row.map((item) => desired(item, neighbours) ?? (left.has(item.id) ? center(item) : undefined)), maxWidth);
    row.forEach((item, i) => left.set(item.id, lefts[i]!));
  };
  for (const row of layers) placeRow(row, preds);
  for (const row of [...layers].reverse()) placeRow(row, succs);
  for (const row of layers) placeRow(row, preds);
  return left;
}

/** Left columns for a row: as close to the wished centres as order, gaps and width allow. */
function fitRow(row: Item[], wished: (number | undefined)[], maxWidth: number): number[] {
  const lefts: number[] = [];
  let next = 0;
  row.forEach((item, i) => {
    const wish = wished[i] === undefined ? next : Math.round(wished[i]! - (item.width - 1) / 2);
    lefts[i] = Math.max(next, wish);
    next = lefts[i]! + item.width + (row[i + 1] ? gapBetween(item, row[i + 1]!) : 0);
  });
  let bound = maxWidth;
  for (let i = row.length - 1; i >= 0; i--) {
    lefts[i] = Math.min(lefts[i]!, bound - row[i]!.width);
    bound = lefts[i]! - (i > 0 ? gapBetween(row[i - 1]!, row[i]!) : 0);
  }
  let floor = 0;
  row.forEach((item, i) => {
    lefts[i] = Math.max(lefts[i]!, floor);
    floor = lefts[i]! + item.width + (row[i + 1] ? gapBetween(item, row[i + 1]!) : 0);
  });
  return lefts;
}
