/** How each stage state looks in every format: one palette, one marker, one word. */
import type { StageState } from './model.js';

export interface StateStyle {
  label: string;
  /** single-width marker for terminals */
  marker: string;
  /** fill colour for dot/mermaid/html */
  fill: string;
  /** border / text colour */
  stroke: string;
  /** SGR colour code for the terminal */
  ansi: number;
}

export const STATE_STYLES: Record<StageState, StateStyle> = {
  fresh: { label: 'fresh', marker: '✓', fill: '#d3f3da', stroke: '#1a7f37', ansi: 32 },
  stale: { label: 'stale', marker: '~', fill: '#fff1c2', stroke: '#9a6700', ansi: 33 },
  'never-run': { label: 'never run', marker: '○', fill: '#dde8ff', stroke: '#0550ae', ansi: 34 },
  'missing-outputs': { label: 'missing outputs', marker: '!', fill: '#ffe2c6', stroke: '#bc4c00', ansi: 35 },
  failed: { label: 'failed', marker: '✗', fill: '#ffd3d3', stroke: '#cf222e', ansi: 31 },
  running: { label: 'running', marker: '▶', fill: '#e9d8ff', stroke: '#8250df', ansi: 36 },
  unknown: { label: 'unknown', marker: '?', fill: '#eaeef2', stroke: '#57606a', ansi: 90 },
};

export const ALL_STATES = Object.keys(STATE_STYLES) as StageState[];

/** Neutral look for nodes without a state (no --status). */
export const NO_STATE_STYLE = { fill: '#f6f8fa', stroke: '#57606a' };

/** Which state a group shows: its most urgent member's. */
export const URGENCY: StageState[] = ['failed', 'running', 'missing-outputs', 'stale', 'never-run', 'unknown', 'fresh'];

export function mostUrgent(states: StageState[]): StageState | undefined {
  return URGENCY.find((state) => states.includes(state));
}

export function paint(text: string, state: StageState | undefined, color: boolean): string {
  if (!color || !state) return text;
  return `\u001b[${STATE_STYLES[state].ansi}m${text}\u001b[39m`;
}
