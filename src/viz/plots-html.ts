/** `pipe plots`: one self-contained, offline page (the data and the drawing script inlined) with a chart per plot. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PLOTS_DATA_ID, type PlotsData } from './plots-page/data.js';

declare const __PIPE_PLOTS_PAGE__: string | undefined;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { padding: 12px 20px; background: #fff; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 18px; margin: 0; }
#plots { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px 20px; }
figure.plot { width: 560px; margin: 0; padding: 12px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
figcaption { display: flex; flex-wrap: wrap; gap: 4px 12px; overflow-wrap: anywhere; align-items: baseline; margin-bottom: 6px; }
figcaption .source { color: #656d76; font-size: 12px; }
svg .grid { stroke: #eaeef2; }
svg .axis { stroke: #8c959f; }
svg .tick { font-size: 11px; fill: #656d76; }
svg .axis-label { font-size: 12px; fill: #1f2328; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 12px; margin: 4px 0 0; padding: 0; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
#problems { padding: 0 20px 16px; color: #9a6700; }
.empty { padding: 16px 20px; color: #656d76; }
`;

export function renderPlotsHtml(data: PlotsData): string {
  const problems = data.problems.map((p) => `<li>${escapeHtml(p.file)}: ${escapeHtml(p.why)}</li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(data.title)}</h1></header>
<main id="plots"></main>
${data.plots.length ? '' : '<p class="empty">Nothing to draw: no stage declares plots: files, and no recorded run has metrics.</p>'}
${problems ? `<ul id="problems">${problems}</ul>` : ''}
<script id="${PLOTS_DATA_ID}" type="application/json">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(pageScript())}</script>
</body>
</html>
`;
}

/** Inlined in the CLI bundle; next to the compiled module otherwise (dist/viz/plots-page.js). */
function pageScript(): string {
  if (typeof __PIPE_PLOTS_PAGE__ === 'string') return __PIPE_PLOTS_PAGE__;
  for (const candidate of ['./plots-page.js', '../../dist/viz/plots-page.js']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error('the plots page script is not built: run `npm run build`');
}

function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
