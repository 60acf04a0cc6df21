/** Terminal layout: layers that fit the width, virtual points for edges that skip layers, columns for every box. */
import { adjacency, longestPathLayers, orderLayers, tightenSources, type Edge } from './layout.js';

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
  left: Map<string, number>;
  center: Map<string, number>;
}

/** Columns between two boxes; a line passing through a layer sits one column from its neighbours. */
const gapBetween = (a: Item, b: Item): number => (a.virtual || b.virtual ? 1 : 2);

export function asciiLayout(boxes: Item[], edges: Edge[], maxWidth: number): AsciiLayout {
  const ids = boxes.map((b) => b.id);
  const widthOf = new Map(boxes.map((b) => [b.id, b.width]));
  const layerOf = fitLayers(ids, edges, widthOf, maxWidth);
  const chained = chainLongEdges(edges, layerOf);
  for (const v of chained.virtuals) widthOf.set(v, 1);
  const byLayer: string[][] = [];
  for (const [id, layer] of layerOf) (byLayer[layer] ??= []).push(id);
  const ordered = orderLayers(Array.from(byLayer, (l) => l ?? []), chained.edges);
  const layers = ordered.map((layer) => layer.map((id) => ({ id, width: widthOf.get(id)!, virtual: chained.virtuals.has(id) })));
  const left = placeColumns(layers, chained.edges, maxWidth);
  const center = new Map([...left].map(([id, x]) => [id, x + Math.floor((widthOf.get(id)! - 1) / 2)]));
  return { layers, edges: chained.edges, left, center };
}

const rowWidth = (ids: string[], widthOf: Map<string, number>, passing = 0): number =>
  ids.reduce((sum, id) => sum + widthOf.get(id)!, 0) + 2 * Math.max(0, ids.length - 1) + 2 * passing;

/** Longest-path layers, then push boxes down (those with the most slack first) until every layer fits. */
function fitLayers(ids: string[], edges: Edge[], widthOf: Map<string, number>, maxWidth: number): Map<string, number> {
  const layerOf = tightenSources(ids, edges, longestPathLayers(ids, edges));
  const topological = [...ids].sort((a, b) => layerOf.get(a)! - layerOf.get(b)!);
  const preds = adjacency(ids, edges, 'to');
  const succs = adjacency(ids, edges, 'from');
  const propagate = (): void => {
    for (const id of topological) {
      for (const p of preds.get(id)!) layerOf.set(id, Math.max(layerOf.get(id)!, layerOf.get(p)! + 1));
    }
  };
  const slack = (id: string, k: number): number => Math.min(Infinity, ...succs.get(id)!.map((s) => layerOf.get(s)!)) - k - 1;
  // edges from one source that skip layer k cross it as one vertical line
  const passing = (k: number): number =>
    ids.filter((id) => layerOf.get(id)! < k && succs.get(id)!.some((s) => layerOf.get(s)! > k)).length;
  for (let k = 0; k <= Math.max(...layerOf.values()); k++) {
    const layer = ids.filter((id) => layerOf.get(id) === k);
    while (layer.length > 1 && rowWidth(layer, widthOf, passing(k)) > maxWidth) {
      const above = ids.filter((id) => layerOf.get(id) === k - 1);
      const riser = layer.findIndex((id) => preds.get(id)!.length === 0 && rowWidth([...above, id], widthOf, passing(k - 1)) <= maxWidth);
      if (k > 0 && riser >= 0) {
        layerOf.set(layer.splice(riser, 1)[0]!, k - 1);
        continue;
      }
      let victim = layer.length - 1;
      for (let i = layer.length - 1; i >= 0; i--) if (slack(layer[i]!, k) > slack(layer[victim]!, k)) victim = i;
      layerOf.set(layer.splice(victim, 1)[0]!, k + 1);
      propagate();
    }
  }
  return layerOf;
}

/** Replace each edge that skips layers with a chain of virtual points, shared by all long edges of one source. */
function chainLongEdges(edges: Edge[], layerOf: Map<string, number>): { edges: Edge[]; virtuals: Set<string> } {
  const virtuals = new Set<string>();
  const out = new Map<string, Edge>();
  const add = (from: string, to: string): void => void out.set(`${from}\u0000${to}`, { from, to });
  for (const { from, to } of edges) {
    const start = layerOf.get(from)!;
    const end = layerOf.get(to)!;
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
  return { edges: [...out.values()], virtuals };
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
