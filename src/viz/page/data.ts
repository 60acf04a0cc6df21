/** What the HTML embeds for the page: the graph (with states when --status) and the groups folded at first. */
import type { VizGraph, VizNode } from '../model.js';

export interface PageData {
  status: boolean;
  folded: string[];
  nodes: VizNode[];
  edges: VizGraph['edges'];
}

/** The id of the `<script type="application/json">` element that carries the PageData. */
export const PAGE_DATA_ID = 'pipe-graph-data';
