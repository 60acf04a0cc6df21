/** The legend: how many drawn nodes are in each state (or of each kind, without --status). */
import type { VizNode } from '../model.js';
import { STATE_STYLES, URGENCY } from '../states.js';
import { el } from './dom.js';

export const KIND_COLORS: Record<VizNode['kind'], string> = { stage: '#0969da', fetch: '#8250df', group: '#57606a' };
const KIND_NAMES: Record<VizNode['kind'], string> = { stage: 'stage', fetch: 'model download', group: 'folded group' };

export function drawLegend(root: HTMLElement, drawn: VizNode[], edgeCount: number, status: boolean, foldedCount: number): void {
  root.textContent = '';
  const counts = new Map<string, number>();
  for (const n of drawn) {
    const key = status ? (n.state ?? 'unknown') : n.kind;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows: [string, string, string][] = status
    ? [...URGENCY].reverse().map((s) => [s, STATE_STYLES[s].stroke, STATE_STYLES[s].label])
    : (['stage', 'fetch', 'group'] as const).map((k) => [k, KIND_COLORS[k], KIND_NAMES[k]]);
  for (const [key, color, label] of rows) {
    if (!counts.has(key)) continue;
    const row = el('div', null, 'legend-row');
    const dot = el('span', null, 'dot');
    dot.style.background = color;
    row.appendChild(dot);
    row.appendChild(el('span', `${label} · ${counts.get(key)}`));
    root.appendChild(row);
  }
  root.appendChild(el('div', `${drawn.length} nodes · ${edgeCount} edges${foldedCount ? ` · ${foldedCount} folded` : ''}`, 'legend-total'));
}
