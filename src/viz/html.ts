/** `--format html`: one self-contained, offline page (graphology + sigma.js inlined) with a layered left-to-right layout. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RenderOptions, VizGraph, VizNode } from './model.js';
import { jobGroupId, namespaceGroupId } from './collapse.js';
import { STATE_STYLES } from './states.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';

/** With `auto`, pages with more stages / jobs than these start with namespaces / jobs folded (one click unfolds). */
const AUTO_FOLD_NAMESPACES_ABOVE = 60;
const AUTO_FOLD_JOBS_ABOVE = 20;

export function renderHtml(graph: VizGraph, opts: RenderOptions): string {
  const title = opts.title ?? 'pipe graph';
  const data = {
    status: opts.status,
    states: STATE_STYLES,
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
    <button id="unfold-all" type="button">Unfold all</button>
  </span>
  <button id="fit" type="button">Fit</button>
  <span class="spacer"></span>
  <span class="hint">drag to pan · scroll to zoom · click a stage</span>
</header>
<main><div id="graph"></div><div id="legend"></div></main>
<aside id="details"></aside>
<script id="pipe-graph-data" type="application/json">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(libraryCode('graphology', 'graphology.umd.min.js'))}</script>
<script>${scriptSafe(libraryCode('sigma', 'sigma.min.js'))}</script>
<script>${PAGE_SCRIPT}</script>
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

function initiallyFolded(graph: VizGraph, mode: 'auto' | 'none' | 'all'): string[] {
  if (mode === 'none') return [];
  const namespaces = new Set(graph.nodes.flatMap((n) => (n.namespace ? [namespaceGroupId(n.namespace)] : [])));
  const jobs = new Set(graph.nodes.flatMap((n) => (n.job ? [jobGroupId(n.job)] : [])));
  if (mode === 'all') return [...namespaces, ...jobs];
  return [...(graph.nodes.length > AUTO_FOLD_NAMESPACES_ABOVE ? namespaces : []), ...(jobs.size > AUTO_FOLD_JOBS_ABOVE ? jobs : [])];
}

const require = createRequire(import.meta.url);

function libraryCode(pkg: string, file: string): string {
  return readFileSync(join(dirname(require.resolve(pkg)), file), 'utf8');
}

/** Nothing inside a <script> may close it early. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
