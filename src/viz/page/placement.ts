/** Where the page draws each node: the shared layered layout, left to right, spaced for the window's shape. */
import { layered, type Edge } from '../layout.js';

export interface Placement {
  position: Map<string, { x: number; y: number }>;
  /** graph units between two layers */
  layerGap: number;
  /** nodes in the fullest layer */
  widest: number;
}

/** `aspect` = height / width of the drawing area. */
export function place(ids: string[], edges: Edge[], aspect: number): Placement {
  const { layers } = layered(ids, edges);
  const widest = Math.max(1, ...layers.map((row) => row.length));
  // keep the drawing no taller than about twice its width, whatever the batch size
  const layerGap = Math.max(2, widest / Math.max(1, layers.length) / 2);
  // a short, wide pipeline gets its rows spread (up to 2.6) so it does not sit in a thin band mid-screen
  const rowGap = widest > 1 ? Math.min(2.6, Math.max(1, ((layers.length - 1) * layerGap * aspect * 0.6) / (widest - 1))) : 1;
  const position = new Map<string, { x: number; y: number }>();
  layers.forEach((row, k) => {
    row.forEach((id, order) => position.set(id, { x: k * layerGap, y: ((row.length - 1) / 2 - order) * rowGap }));
  });
  return { position, layerGap, widest };
}
