/** `--format html`: one self-contained, offline page (graphology + sigma.js inlined) with a layered left-to-right layout. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RenderOptions, VizGraph, VizNode } from './model.js';
import { GROUP_OF } from './collapse.js';
import { PAGE_DATA_ID, type PageData } from './page/data.js';
import { PAGE_STYLE } from './page-style.js';

/**
 * With `auto`, pages with more stages than this start with namespaces folded, and a stage family
 * (`compile@*`) with more members than that starts folded (one click unfolds).
 */
const AUTO_FOLD_NAMESPACES_ABOVE = 60;
const AUTO_FOLD_FAMILY_ABOVE = 20;

export function renderHtml(graph: VizGraph, opts: RenderOptions): string {
  const title = opts.title ?? 'pipe graph';
  const data: PageData = {
    status: opts.status,
    folded: initiallyFolded(graph, opts.collapse ?? 'auto'),
    nodes: pageNodes(graph, opts.status),
    edges: graph.edges,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <input id="search" type="search" placeholder="Search stages  ( / )" autocomplete="off" spellcheck="false">
  <span id="search-info"></span>
  <span id="group-buttons">
    <button id="fold-namespaces" type="button" title="Fold cache:*, bootstrap:* ... into one node each">Fold namespaces</button>
    <button id="fold-jobs" type="button" title="Fold the stages of each foreach job into one node">Fold jobs</button>
    <button id="fold-families" type="button" title="Fold each stage of a foreach, over all its items, into one node (compile@*)">Fold families</button>
    <button id="unfold-all" type="button">Unfold all</button>
  </span>
  <button id="fit" type="button">Fit</button>
  <span class="spacer"></span>
  <span class="hint">drag to pan · scroll to zoom · click a stage</span>
</header>
<main><div id="graph"></div><div id="legend"></div></main>
<aside id="details"></aside>
<script id="${PAGE_DATA_ID}" type="application/json">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(libraryCode('graphology', 'graphology.umd.min.js'))}</script>
<script>${scriptSafe(libraryCode('sigma', 'sigma.min.js'))}</script>
<script>${scriptSafe(pageScript())}</script>
</body>
</html>
`;
}

/** Node data for the page (the page lays the graph out itself, since folding changes it). */
function pageNodes(graph: VizGraph, status: boolean): VizNode[] {
  return graph.nodes.map((node) => {
    const { state, reasons, ...rest } = node;
    return status ? { ...rest, state, reasons } : rest;
  });
}

/**
 * `all`: every namespace and job, and by family the stages whose job has no other (as `collapse` does);
 * `auto`: namespaces of a big page, and every family too tall to read as one column.
 */
function initiallyFolded(graph: VizGraph, mode: 'auto' | 'none' | 'all'): string[] {
  if (mode === 'none') return [];
  const members = (group: (n: VizNode) => string | undefined): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const n of graph.nodes) {
      const id = group(n);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  const namespaces = [...members(GROUP_OF.namespace).keys()];
  const families = members(GROUP_OF.family);
  if (mode === 'all') return [...namespaces, ...members(GROUP_OF.job).keys(), ...families.keys()];
  const tall = [...families].filter(([, count]) => count > AUTO_FOLD_FAMILY_ABOVE).map(([id]) => id);
  return [...(graph.nodes.length > AUTO_FOLD_NAMESPACES_ABOVE ? namespaces : []), ...tall];
}

const require = createRequire(import.meta.url);

/** A library's own browser build (see src/viz/page/libraries.ts). */
function libraryCode(pkg: string, file: string): string {
  return readFileSync(join(dirname(require.resolve(pkg)), file), 'utf8');
}

declare const __PIPE_GRAPH_PAGE__: string | undefined;

/**
 * The page's script (src/viz/page/, bundled by scripts/bundle.js): inlined in the CLI bundle, a file next to
 * the compiled module otherwise (dist/viz/graph-page.js, also found from src/ when tests run the sources).
 */
function pageScript(): string {
  if (typeof __PIPE_GRAPH_PAGE__ === 'string') return __PIPE_GRAPH_PAGE__;
  for (const candidate of ['./graph-page.js', '../../dist/viz/graph-page.js']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error('the graph page script is not built: run `npm run build`');
}

/** Nothing inside a <script> may close it early. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
