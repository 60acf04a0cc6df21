/** The plain graph model every renderer reads; the CLI builds it from the pipeline (and the plan, with --status). */

import type { StageState as PlannedState } from '../report/events.js';

/** The planner's states, and what a drawing adds: a failed or running stage, one with no state known. */
export type StageState = PlannedState | 'failed' | 'running' | 'unknown';

export interface VizNode {
  /** stage name, e.g. 'demux@demo-1a2b3c4d', 'cache:nllb-200-3.3b', 'bootstrap:tools' */
  id: string;
  /** group = a collapsed set of nodes */
  kind: 'stage' | 'fetch' | 'group';
  desc?: string;
  /** 'cache', 'bootstrap', 'bootstrap:env' ... (text before the last ':'), if any */
  namespace?: string;
  /** foreach job key (text after '@'), if any */
  job?: string;
  /** name before '@' for foreach instances */
  template?: string;
  /** present when --status */
  state?: StageState;
  reasons?: string[];
  /** display form */
  cmd?: string;
  deps: string[];
  outs: string[];
  params: Record<string, unknown>;
  lastRun?: { at: string; ms: number };
  /** for collapsed group nodes */
  members?: string[];
}

/** Edges run from upstream to downstream. */
export interface VizGraph {
  nodes: VizNode[];
  edges: { from: string; to: string }[];
}

export type VizFormat = 'ascii' | 'dot' | 'mermaid' | 'json' | 'html' | 'svg' | 'png';

export type CollapseMode = 'auto' | 'none' | 'all';

export interface RenderOptions {
  status: boolean;
  color: boolean;
  width?: number;
  collapse?: CollapseMode;
  title?: string;
}
