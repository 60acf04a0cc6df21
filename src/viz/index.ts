/** Pipeline graph renderers: pure functions from the plain graph model to text (or image bytes). */
import type { CollapseMode, RenderOptions, VizFormat, VizGraph } from './model.js';
import { collapse } from './collapse.js';
import { renderAscii } from './ascii.js';
import { renderDot } from './dot.js';
import { renderMermaid } from './mermaid.js';
import { renderJson } from './json.js';
import { renderHtml } from './html.js';
import { runGraphviz } from './svg.js';

export type { CollapseMode, RenderOptions, StageState, VizFormat, VizGraph, VizNode } from './model.js';
export { collapse, DEFAULT_COLLAPSE_THRESHOLD } from './collapse.js';
export { STATE_STYLES } from './states.js';

export const VIZ_FORMATS: readonly VizFormat[] = ['ascii', 'dot', 'mermaid', 'json', 'html', 'svg', 'png'];

/**
 * Terminal and Mermaid output fold big graphs by default; the page folds in the browser (its own toggles),
 * DOT/SVG/PNG and JSON show everything unless asked.
 */
const DEFAULT_COLLAPSE: Record<VizFormat, CollapseMode> = {
  ascii: 'auto', mermaid: 'auto', dot: 'none', svg: 'none', png: 'none', json: 'none', html: 'auto',
};

export async function render(graph: VizGraph, format: VizFormat, opts: RenderOptions): Promise<string | Buffer> {
  const mode = opts.collapse ?? DEFAULT_COLLAPSE[format];
  if (format === 'html') return renderHtml(graph, { ...opts, collapse: mode });
  const shown = collapse(graph, mode);
  switch (format) {
    case 'ascii': return renderAscii(shown, opts);
    case 'dot': return renderDot(shown, opts);
    case 'mermaid': return renderMermaid(shown, opts);
    case 'json': return renderJson(shown, opts);
    case 'svg':
    case 'png': return runGraphviz(renderDot(shown, opts), format);
  }
}
