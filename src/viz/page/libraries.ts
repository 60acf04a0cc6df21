/**
 * graphology and sigma.js, which html.ts inlines as their own UMD builds before the page's script: their
 * minified builds draw the first frame of a 5,000-stage page about 0.7 s sooner than esbuild's bundle of
 * their ES modules (bench/graph-render.js). Typed from the packages; values from the globals they define.
 */
import type { DirectedGraph as GraphClass } from 'graphology';
import type SigmaClass from 'sigma';

declare global {
  interface Window {
    graphology: { DirectedGraph: typeof GraphClass };
    Sigma: typeof SigmaClass;
  }
}

export type Graph = GraphClass;
export const Graph = window.graphology.DirectedGraph;
export type Sigma = SigmaClass;
export const Sigma = window.Sigma;
