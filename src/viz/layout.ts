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
  const { preds, succs } = indexed(ids, edges);
  const indegree = Int32Array.from(preds, (p) => p.length);
  const layer = new Int32Array(ids.length);
  const queue: number[] = [];
  for (let v = 0; v < ids.length; v++) if (indegree[v] === 0) queue.push(v);
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of succs[v]!) {
      layer[w] = Math.max(layer[w]!, layer[v]! + 1);
      if (--indegree[w]! === 0) queue.push(w);
    }
  }
  let deepest = -1;
  for (const v of queue) deepest = Math.max(deepest, layer[v]!);
  const layerOf = new Map<string, number>();
  for (const v of queue) layerOf.set(ids[v]!, layer[v]!);
  for (let v = 0; v < ids.length; v++) if (indegree[v]! > 0) layerOf.set(ids[v]!, deepest + 1);
  return layerOf;
}

/** Move nodes without predecessors down to just above their first consumer, so shared inputs sit next to their users. */
export function tightenSources(ids: string[], edges: Edge[], layerOf: Map<string, number>): Map<string, number> {
  const { preds, succs } = indexed(ids, edges);
  ids.forEach((id, v) => {
    if (preds[v]!.length > 0 || succs[v]!.length === 0) return;
    let first = Infinity;
    for (const s of succs[v]!) first = Math.min(first, layerOf.get(ids[s]!)!);
    layerOf.set(id, first - 1);
  });
  return layerOf;
}

/** Predecessor and successor lists by position in `ids` (edges to unknown ids are left out). */
function indexed(ids: string[], edges: Edge[]): { index: Map<string, number>; preds: number[][]; succs: number[][] } {
  const index = new Map(ids.map((id, i) => [id, i]));
  const preds: number[][] = ids.map(() => []);
  const succs: number[][] = ids.map(() => []);
  for (const { from, to } of edges) {
    const a = index.get(from);
    const b = index.get(to);
    if (a === undefined || b === undefined) continue;
    succs[a]!.push(b);
    preds[b]!.push(a);
  }
  return { index, preds, succs };
}

export function groupByLayer(ids: string[], layerOf: Map<string, number>): string[][] {
  const layers: string[][] = [];
  for (const id of ids) (layers[layerOf.get(id)!] ??= []).push(id);
  return Array.from(layers, (layer) => layer ?? []);
}

/** Reorder each layer by the mean position of its neighbours, sweeping down then up a few times. */
export function orderLayers(layers: string[][], edges: Edge[], sweeps = 4): string[][] {
  // on indices and typed arrays: the page orders 5,000 stages with this before its first frame
  const ids = layers.flat();
  const { index, preds, succs } = indexed(ids, edges);
  const position = new Float64Array(ids.length);
  const key = new Float64Array(ids.length);
  const place = (layer: number[]): void => layer.forEach((v, i) => (position[v] = (i + 0.5) / layer.length));
  const ordered = layers.map((layer) => layer.map((id) => index.get(id)!));
  ordered.forEach(place);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    const down = sweep % 2 === 0;
    const neighbours = down ? preds : succs;
    for (let s = 0; s < ordered.length; s++) {
      const layer = ordered[down ? s : ordered.length - 1 - s]!;
      layer.forEach((v) => {
        const around = neighbours[v]!;
        let sum = 0;
        for (const w of around) sum += position[w]!;
        // (the sort is stable: ties keep the current order)
        key[v] = around.length === 0 ? position[v]! : sum / around.length;
      });
      layer.sort((a, b) => key[a]! - key[b]!);
      place(layer);
    }
  }
  return ordered.map((layer) => layer.map((v) => ids[v]!));
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

