/**
 * Terminal layers that fit the width: longest-path layers, then, layer by layer from the top, sources rise
 * into the layer above while it has room and the boxes with the most slack move down until the row fits.
 * Near-linear in the size of the drawing: layer buckets, a push-down that visits only what moves, and the
 * count of lines passing a layer kept from the edges that are still open.
 */
import { longestPathLayers, tightenSources, type Edge } from './layout.js';

/** Columns a row needs: its boxes, two between each, two per line passing through it. */
const rowWidth = (boxes: number, count: number, passing: number): number => boxes + 2 * Math.max(0, count - 1) + 2 * passing;

/**
 * `maxSpan`: edges longer than this many layers are not drawn as lines (the caller lists them), so only
 * shorter ones take room in the layers they pass.
 */
export function fitLayers(ids: string[], edges: Edge[], widthOf: Map<string, number>, maxWidth: number, maxSpan: number): Map<string, number> {
  const layerOf = tightenSources(ids, edges, longestPathLayers(ids, edges));
  const fitter = new LayerFitter(ids, edges, ids.map((id) => widthOf.get(id)!), ids.map((id) => layerOf.get(id)!), maxSpan);
  fitter.fit(maxWidth);
  ids.forEach((id, i) => layerOf.set(id, fitter.layer[i]!));
  return layerOf;
}

/**
 * Layers are fitted top-down; a node enters its layer's bucket only once all its predecessors are final
 * (Kahn's order), at one below the deepest of them, so each node is placed once and only moved down by the
 * fitting itself.
 */
class LayerFitter {
  /** the layer of a placed node; for one not yet placed, the least it can get */
  readonly layer: Int32Array;
  private readonly preds: number[][];
  private readonly succs: number[][];
  /** predecessors not yet final */
  private readonly pending: Int32Array;
  private readonly placed: Uint8Array;
  private readonly final: Uint8Array;
  private readonly buckets: Set<number>[] = [];
  private deepest = 0;
  /** the layer being fitted: nothing is placed into it or above it any more */
  private current = -1;

  constructor(ids: string[], edges: Edge[], private readonly width: number[], layers: number[], private readonly maxSpan: number) {
    const index = new Map(ids.map((id, i) => [id, i]));
    this.layer = Int32Array.from(layers);
    this.preds = ids.map(() => []);
    this.succs = ids.map(() => []);
    for (const { from, to } of edges) {
      const a = index.get(from);
      const b = index.get(to);
      // edges against the layering close a cycle: they place nothing
      if (a === undefined || b === undefined || this.layer[a]! >= this.layer[b]!) continue;
      this.succs[a]!.push(b);
      this.preds[b]!.push(a);
    }
    this.pending = Int32Array.from(this.preds, (p) => p.length);
    this.placed = new Uint8Array(ids.length);
    this.final = new Uint8Array(ids.length);
    for (let v = 0; v < ids.length; v++) if (this.pending[v] === 0) this.place(v, this.layer[v]!);
  }

  fit(maxWidth: number): void {
    // final nodes above the current layer whose lines may still pass it
    let open: number[] = [];
    for (let k = 0; k <= this.deepest; k++) {
      this.current = k;
      if (k > 0) open.push(...this.bucket(k - 1));
      open = open.filter((v) => k - this.layer[v]! <= this.maxSpan && this.succs[v]!.some((s) => !this.final[s]));
      this.fitLayer(k, open, maxWidth);
      for (const v of [...this.bucket(k)]) this.finish(v);
    }
  }

  private fitLayer(k: number, open: number[], maxWidth: number): void {
    const members = [...this.bucket(k)].sort((a, b) => a - b);
    if (members.length <= 1) return;
    let boxes = members.reduce((sum, v) => sum + this.width[v]!, 0);
    let passing = open.filter((v) => this.passes(v, k)).length;
    if (rowWidth(boxes, members.length, passing) <= maxWidth) return;
    if (k > 0) ({ boxes, passing } = this.riseSources(k, members, open, boxes, passing, maxWidth));
    const slack = new Map(members.map((v) => [v, this.slack(v, k)]));
    // most slack last (ties: the later box), so pop() takes the next box to move down
    const queue = members.map((v, i) => ({ v, i })).sort((a, b) => slack.get(a.v)! - slack.get(b.v)! || a.i - b.i).map((e) => e.v);
    let count = members.length;
    const moved: number[] = [];
    while (count > 1 && rowWidth(boxes, count, passing) > maxWidth) {
      const victim = queue.pop()!;
      count--;
      boxes -= this.width[victim]!;
      const before = this.preds[victim]!.filter((p) => !this.passes(p, k));
      this.move(victim, k + 1);
      moved.push(victim);
      passing += before.filter((p) => this.passes(p, k)).length;
    }
    // a layer many rows wide: deal the rest out a row's worth at a time (least slack first), rather than
    // sorting what is left again on every row
    moved.reverse().forEach((v, i) => this.move(v, k + 1 + Math.floor(i / count)));
  }

  /** Sources (no predecessors) move up into layer k-1 while that row has room, in their order. */
  private riseSources(k: number, members: number[], open: number[], boxes: number, passing: number, maxWidth: number): { boxes: number; passing: number } {
    const above = this.bucket(k - 1);
    let aboveBoxes = 0;
    for (const v of above) aboveBoxes += this.width[v]!;
    const passingAbove = open.filter((v) => this.layer[v]! < k - 1 && this.passes(v, k - 1)).length;
    for (let i = 0; i < members.length && members.length > 1 && rowWidth(boxes, members.length, passing) > maxWidth; i++) {
      const v = members[i]!;
      if (this.preds[v]!.length > 0 || rowWidth(aboveBoxes + this.width[v]!, above.size + 1, passingAbove) > maxWidth) continue;
      members.splice(i--, 1);
      this.move(v, k - 1);
      this.finish(v);
      aboveBoxes += this.width[v]!;
      boxes -= this.width[v]!;
      open.push(v);
      if (this.passes(v, k)) passing++;
    }
    return { boxes, passing };
  }

  /**
   * Whether a line from v (final, above layer k) passes layer k: a successor will sit below k (it is in a
   * deeper layer or not placed yet) and near enough to be drawn.
   */
  private passes(v: number, k: number): boolean {
    if (!this.final[v] || this.layer[v]! >= k || k >= this.layer[v]! + this.maxSpan) return false;
    return this.succs[v]!.some((s) => !this.final[s] && (!this.placed[s] || this.layer[s]! > k));
  }

  private slack(v: number, k: number): number {
    let first = Infinity;
    for (const s of this.succs[v]!) first = Math.min(first, this.layer[s]!);
    return first - k - 1;
  }

  private place(v: number, k: number): void {
    this.placed[v] = 1;
    this.layer[v] = k;
    this.bucket(k).add(v);
    this.deepest = Math.max(this.deepest, k);
  }

  private move(v: number, k: number): void {
    this.bucket(this.layer[v]!).delete(v);
    this.place(v, k);
  }

  /** v keeps its layer: its successors may now be placed below it. */
  private finish(v: number): void {
    this.final[v] = 1;
    for (const s of this.succs[v]!) {
      this.layer[s] = Math.max(this.layer[s]!, this.layer[v]! + 1);
      if (--this.pending[s]! === 0) this.place(s, Math.max(this.layer[s]!, this.current + 1));
    }
  }

  private bucket(k: number): Set<number> {
    return (this.buckets[k] ??= new Set());
  }
}
