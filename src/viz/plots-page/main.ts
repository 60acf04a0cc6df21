/**
 * The plots page's script (bundled by scripts/bundle.js, inlined by src/viz/plots-html.ts): draws each plot
 * as an SVG line chart with its axes, a legend and a tooltip per point. No library: the charts are simple.
 */
import { PLOTS_DATA_ID, type Plot, type PlotsData } from './data.js';

interface PlotsHook {
  ready: boolean;
  error: string | null;
  plotCount: number;
  seriesCount: number;
  pointCount: number;
}

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 300;
const MARGIN = { left: 64, right: 36, top: 16, bottom: 48 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const hook: PlotsHook = { ready: false, error: null, plotCount: 0, seriesCount: 0, pointCount: 0 };
(window as unknown as { __pipePlots: PlotsHook }).__pipePlots = hook;

try {
  const data = JSON.parse(document.getElementById(PLOTS_DATA_ID)!.textContent!) as PlotsData;
  const grid = document.getElementById('plots')!;
  for (const plot of data.plots) grid.appendChild(figure(plot));
  hook.plotCount = data.plots.length;
  hook.seriesCount = data.plots.reduce((n, p) => n + p.series.length, 0);
  hook.pointCount = data.plots.reduce((n, p) => n + p.series.reduce((m, s) => m + s.points.length, 0), 0);
  hook.ready = true;
} catch (err) {
  hook.error = err instanceof Error ? err.message : String(err);
}

function figure(plot: Plot): HTMLElement {
  const fig = document.createElement('figure');
  fig.className = 'plot';
  const caption = document.createElement('figcaption');
  caption.innerHTML = '';
  const title = document.createElement('strong');
  title.textContent = plot.title;
  const source = document.createElement('span');
  source.className = 'source';
  source.textContent = plot.source;
  caption.append(title, source);
  fig.append(caption, chart(plot), legend(plot));
  return fig;
}

function chart(plot: Plot): SVGSVGElement {
  const svg = el('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: String(WIDTH), height: String(HEIGHT), role: 'img' });
  const points = plot.series.flatMap((s) => s.points);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const xDomain = plot.xLabels ? [0, Math.max(1, plot.xLabels.length - 1)] as const : domain(xs);
  const yDomain = domain(ys, true);
  const x = scale(xDomain, [MARGIN.left, WIDTH - MARGIN.right]);
  const y = scale(yDomain, [HEIGHT - MARGIN.bottom, MARGIN.top]);
  drawYAxis(svg, yDomain, y);
  drawXAxis(svg, plot, xDomain, x);
  plot.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const sorted = [...s.points].sort((a, b) => a[0] - b[0]);
    if (sorted.length > 1) svg.appendChild(el('polyline', { points: sorted.map(([px, py]) => `${x(px)},${y(py)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': '2', class: 'series' }));
    for (const [px, py] of sorted) {
      const dot = el('circle', { cx: String(x(px)), cy: String(y(py)), r: sorted.length > 60 ? '1.5' : '3.5', fill: color, class: 'point' });
      const tip = el('title', {});
      tip.textContent = `${s.name}: ${format(py)} at ${plot.xLabels ? plot.xLabels[px] ?? px : format(px)}`;
      dot.appendChild(tip);
      svg.appendChild(dot);
    }
  });
  return svg;
}

function drawYAxis(svg: SVGSVGElement, [lo, hi]: readonly [number, number], y: (v: number) => number): void {
  for (const v of ticks(lo, hi, 5)) {
    svg.appendChild(el('line', { x1: String(MARGIN.left), x2: String(WIDTH - MARGIN.right), y1: String(y(v)), y2: String(y(v)), class: 'grid' }));
    svg.appendChild(text(format(v), MARGIN.left - 6, y(v) + 4, 'end'));
  }
}

function drawXAxis(svg: SVGSVGElement, plot: Plot, [lo, hi]: readonly [number, number], x: (v: number) => number): void {
  const base = HEIGHT - MARGIN.bottom;
  svg.appendChild(el('line', { x1: String(MARGIN.left), x2: String(WIDTH - MARGIN.right), y1: String(base), y2: String(base), class: 'axis' }));
  const labels = plot.xLabels;
  const at = labels ? labels.map((_, i) => i).filter((i, _, all) => all.length <= 8 || i % Math.ceil(all.length / 8) === 0) : ticks(lo, hi, 6);
  for (const v of at) svg.appendChild(text(labels ? shorten(labels[v]!) : format(v), x(v), base + 16, 'middle'));
  svg.appendChild(text(plot.xLabel, (MARGIN.left + WIDTH - MARGIN.right) / 2, HEIGHT - 8, 'middle', 'axis-label'));
}

function legend(plot: Plot): HTMLElement {
  const list = document.createElement('ul');
  list.className = 'legend';
  plot.series.forEach((s, i) => {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = COLORS[i % COLORS.length]!;
    item.append(swatch, document.createTextNode(s.name));
    list.appendChild(item);
  });
  return list;
}

function domain(values: number[], includeZeroPad = false): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  } else if (includeZeroPad) {
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

function scale([d0, d1]: readonly [number, number], [r0, r1]: [number, number]): (v: number) => number {
  return (v) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0);
}

/** Round tick values (1, 2, 5 times a power of ten) inside [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const result: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) result.push(Number(v.toPrecision(12)));
  return result;
}

function format(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/** A run id (20261202-173516-475) as the time it started; other long labels cut in the middle. */
function shorten(label: string): string {
  const run = /^\d{8}-(\d{2})(\d{2})(\d{2})-\d{3}$/.exec(label);
  if (run) return `${run[1]}:${run[2]}:${run[3]}`;
  return label.length > 14 ? `${label.slice(0, 6)}…${label.slice(-7)}` : label;
}

function text(content: string, x: number, y: number, anchor: 'start' | 'middle' | 'end', cls = 'tick'): SVGTextElement {
  const t = el<SVGTextElement>('text', { x: String(x), y: String(y), 'text-anchor': anchor, class: cls });
  t.textContent = content;
  return t;
}

function el<T extends SVGElement = SVGSVGElement>(name: string, attrs: Record<string, string>): T {
  const node = document.createElementNS(SVG, name) as T;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}
