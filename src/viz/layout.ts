/** Layered (Sugiyama-style) layout: longest-path layers, then barycentric ordering within each layer. */

export interface Edge {
  from: string;
  to: string;
}

export interface Layered {
  /** layers[k] = node ids in layer k, in drawing order */
  layers: string[][];
  layerOf: Map<string, number>;
}

/** Layer of a node = length of the longest path reaching it; nodes caught in a cycle go after the rest. */
export function longestPathLayers(ids: string[], edges: Edge[]): Map<string, number> {
  const preds = adjacency(ids, edges, 'to');
  const succs = adjacency(ids, edges, 'from');
  const indegree = new Map(ids.map((id) => [id, preds.get(id)!.length]));
  const layerOf = new Map<string, number>();
  const queue = ids.filter((id) => indegree.get(id) === 0);
  for (const id of queue) layerOf.set(id, 0);
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const next of succs.get(id)!) {
      layerOf.set(next, Math.max(layerOf.get(next) ?? 0, layerOf.get(id)! + 1));
      indegree.set(next, indegree.get(next)! - 1);
      if (indegree.get(next) === 0) queue.push(next);
    }
  }
  const placed = new Set(queue);
  let deepest = -1;
  for (const id of queue) deepest = Math.max(deepest, layerOf.get(id)!);
  for (const id of ids) if (!placed.has(id)) layerOf.set(id, deepest + 1);
  return layerOf;
}

/** Move nodes without predecessors down to just above their first consumer, so shared inputs sit next to their users. */
export function tightenSources(ids: string[], edges: Edge[], layerOf: Map<string, number>): Map<string, number> {
  const preds = adjacency(ids, edges, 'to');
  const succs = adjacency(ids, edges, 'from');
  for (const id of ids) {
    if (preds.get(id)!.length > 0 || succs.get(id)!.length === 0) continue;
    layerOf.set(id, Math.min(...succs.get(id)!.map((s) => layerOf.get(s)!)) - 1);
  }
  return layerOf;
}

export function groupByLayer(ids: string[], layerOf: Map<string, number>): string[][] {
  const layers: string[][] = [];
  for (const id of ids) (layers[layerOf.get(id)!] ??= []).push(id);
  return Array.from(layers, (layer) => layer ?? []);
}

/** Reorder each layer by the mean position of its neighbours, sweeping down then up a few times. */
export function orderLayers(layers: string[][], edges: Edge[], sweeps = 4): string[][] {
  const ids = layers.flat();
  const preds = adjacency(ids, edges, 'to');
  const succs = adjacency(ids, edges, 'from');
  const position = new Map<string, number>();
  const place = (layer: string[]): void => layer.forEach((id, i) => position.set(id, (i + 0.5) / layer.length));
  const ordered = layers.map((layer) => [...layer]);
  ordered.forEach(place);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    const down = sweep % 2 === 0;
    const sequence = down ? ordered.keys() : [...ordered.keys()].reverse();
    for (const k of sequence) {
      const neighbours = down ? preds : succs;
      ordered[k] = sortByBarycenter(ordered[k]!, (id) => neighbours.get(id)!, position);
      place(ordered[k]!);
    }
  }
  return ordered;
}

function sortByBarycenter(layer: string[], neighbours: (id: string) => string[], position: Map<string, number>): string[] {
  const key = new Map<string, number>();
  for (const id of layer) {
    const around = neighbours(id);
    key.set(id, around.length === 0 ? position.get(id)! : mean(around.map((n) => position.get(n)!)));
  }
  // stable: ties keep the current order
  return layer
    .map((id, index) => ({ id, index }))
    .sort((a, b) => key.get(a.id)! - key.get(b.id)! || a.index - b.index)
    .map((entry) => entry.id);
}

export function layered(ids: string[], edges: Edge[]): Layered {
  const layerOf = tightenSources(ids, edges, longestPathLayers(ids, edges));
  return { layers: orderLayers(groupByLayer(ids, layerOf), edges), layerOf };
}

export function adjacency(ids: string[], edges: Edge[], key: 'from' | 'to'): Map<string, string[]> {
  const other = key === 'from' ? 'to' : 'from';
  const map = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const edge of edges) if (map.has(edge[key]) && map.has(edge[other])) map.get(edge[key])!.push(edge[other]);
  return map;
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
