/**
 * The page's script, bundled by scripts/bundle.js into the string html.ts inlines (after graphology and sigma.js).
 * It reads the embedded graph, folds and unfolds groups, lays the graph out, draws it and fills the side panel.
 */
import { Graph, Sigma } from './libraries.js';
import type { VizGraph, VizNode } from '../model.js';
import { displayName } from '../groups.js';
import { STATE_STYLES } from '../states.js';
import { PAGE_DATA_ID, type PageData } from './data.js';
import { Folding } from './folding.js';
import { place } from './placement.js';
import { hoverDrawer, labelDrawer } from './labels.js';
import { Panel } from './panel.js';
import { KIND_COLORS, drawLegend } from './legend.js';
import { byId } from './dom.js';
import { Search } from './search.js';

/** Up to this many drawn nodes, nodes are drawn larger and every label is shown, under its node... */
const SMALL_GRAPH = 80;
/** ...unless a layer holds more than this many: then their labels would overlap, and sigma picks which to show. */
const TALLEST_LABELLED_LAYER = 16;
/** Above this many stages, edges and labels are hidden while the camera moves. */
const HIDE_ON_MOVE_ABOVE = 2000;
const NEUTRAL = '#c9d1d9';

interface PageHook {
  ready: boolean;
  nodeCount: number;
  edgeCount: number;
  firstRenderMs: number | null;
  scriptMs?: number;
  error: string | null;
  graph?: Graph;
  renderer?: Sigma;
  select?: (id: string) => void;
  toggle?: (id: string) => void;
  screenPosition?: (id: string) => { x: number; y: number };
}

declare global {
  interface Window {
    __pipeGraph: PageHook;
  }
}

const scriptStart = performance.now();
const hook: PageHook = (window.__pipeGraph = { ready: false, nodeCount: 0, edgeCount: 0, firstRenderMs: null, error: null });
const data = JSON.parse(byId(PAGE_DATA_ID).textContent ?? '{}') as PageData;
if (data.status) for (const n of data.nodes) n.state ??= 'unknown';
const stages = new Map(data.nodes.map((n) => [n.id, n]));
const folding = new Folding({ nodes: data.nodes, edges: data.edges }, data.folded);
const container = byId('graph');
const graph = new Graph({ multi: false, allowSelfLoops: false });

let drawn: VizGraph = { nodes: [], edges: [] };
let drawnById = new Map<string, VizNode>();
/** stage id -> the drawn node it is part of */
let shownAs = new Map<string, string>();
let layerGap = 1;
let selected: string | null = null;
let focus: Set<string> | null = null;
let renderer: Sigma | undefined;
// pixels between two layers at the current zoom, measured before each frame: a label may use that much
let layerPitch = 120;

function colorOf(node: VizNode): string {
  return data.status && node.state ? STATE_STYLES[node.state].stroke : KIND_COLORS[node.kind];
}

/** Rebuild the drawn graph after a group folds or unfolds. */
function rebuild(): void {
  drawn = folding.shown();
  drawnById = new Map(drawn.nodes.map((n) => [n.id, n]));
  shownAs = new Map();
  for (const n of drawn.nodes) for (const m of n.members ?? [n.id]) shownAs.set(m, n.id);
  const box = container.getBoundingClientRect();
  const placement = place(drawn.nodes.map((n) => n.id), drawn.edges, box.width > 0 ? box.height / box.width : 0.6);
  layerGap = placement.layerGap;
  const small = drawn.nodes.length <= SMALL_GRAPH;
  const allLabels = small && placement.widest <= TALLEST_LABELLED_LAYER;
  graph.clear();
  for (const n of drawn.nodes) {
    const size = (n.kind === 'group' ? 10 : n.kind === 'fetch' ? 5 : 6) * (allLabels ? 1.6 : 1);
    const xy = placement.position.get(n.id)!;
    graph.addNode(n.id, { ...xy, size, label: displayName(n), color: colorOf(n), forceLabel: allLabels || n.kind === 'group' });
  }
  for (const e of drawn.edges) graph.addDirectedEdge(e.from, e.to, { size: small ? 1.6 : 1.2, color: small ? '#8c959f' : '#b6bec8' });
  hook.nodeCount = graph.order;
  hook.edgeCount = graph.size;
  drawLegend(byId('legend'), drawn.nodes, graph.size, data.status, folding.folded.size);
  updateGroupButtons();
}

function setFocus(ids: Set<string> | null): void {
  focus = ids;
  renderer?.refresh({ skipIndexation: true });
}

function measurePitch(): void {
  if (!renderer) return;
  const a = renderer.graphToViewport({ x: 0, y: 0 });
  const b = renderer.graphToViewport({ x: layerGap, y: 0 });
  layerPitch = Math.abs(b.x - a.x);
}

rebuild();
try {
  renderer = new Sigma(graph, container, {
    defaultEdgeType: 'arrow',
    labelFont: 'system-ui, sans-serif',
    labelSize: 12,
    labelColor: { color: '#1f2328' },
    labelDensity: 0.6,
    labelGridCellSize: 90,
    labelRenderedSizeThreshold: 4,
    stagePadding: 60,
    defaultDrawNodeLabel: labelDrawer(() => layerPitch),
    defaultDrawNodeHover: hoverDrawer((id) => {
      const n = drawnById.get(id);
      return { state: data.status ? n?.state : undefined, reason: n?.reasons?.[0], desc: n?.desc };
    }),
    zIndex: true,
    hideEdgesOnMove: data.nodes.length > HIDE_ON_MOVE_ABOVE,
    hideLabelsOnMove: data.nodes.length > HIDE_ON_MOVE_ABOVE,
    minCameraRatio: 0.005,
    maxCameraRatio: 4,
    nodeReducer: (node, attrs) => {
      if (!focus) return attrs;
      if (focus.has(node)) return { ...attrs, forceLabel: true, zIndex: 1, highlighted: node === selected };
      return { ...attrs, color: NEUTRAL, label: '', zIndex: 0 };
    },
    edgeReducer: (edge, attrs) => {
      if (!focus) return attrs;
      if (focus.has(graph.source(edge)) && focus.has(graph.target(edge))) return { ...attrs, color: '#57606a', size: 2, zIndex: 1 };
      return { ...attrs, hidden: true };
    },
  });
} catch (error) {
  hook.error = String((error as Error)?.message ?? error);
  container.textContent = `This page draws with WebGL, which this browser has turned off: ${hook.error}`;
  container.className += ' failed';
}

if (renderer) start(renderer);

function start(sigma: Sigma): void {
  sigma.once('afterRender', () => {
    requestAnimationFrame(() => {
      hook.firstRenderMs = performance.now();
      hook.scriptMs = performance.now() - scriptStart;
      hook.ready = true;
      document.body.setAttribute('data-ready', 'true');
    });
  });
  // the first frame was drawn in the constructor, before the layer pitch could be measured
  sigma.on('beforeRender', measurePitch);
  measurePitch();
  sigma.refresh({ skipIndexation: true });

  const panel = new Panel(byId('details'), {
    status: data.status,
    stages: data.nodes,
    stage: (id) => stages.get(id),
    drawn: (id) => drawnById.get(id),
    neighbours: (id, direction) => (direction === 'in' ? graph.inNeighbors(id) : graph.outNeighbors(id)),
    folding,
    select: (id) => select(id, true),
    toggle: (group, then) => {
      toggle(group);
      select(then, true);
    },
  });
  const search = new Search(byId<HTMLInputElement>('search'), byId('search-info'), data.nodes, (id) => shownAs.get(id) ?? id);

  function select(id: string, moveCamera: boolean): void {
    if (!graph.hasNode(id)) id = shownAs.get(id) ?? id;
    if (!graph.hasNode(id)) return;
    selected = id;
    const ids = new Set([id]);
    graph.forEachNeighbor(id, (m: string) => ids.add(m));
    setFocus(ids);
    panel.showNode(id);
    document.body.classList.add('has-selection');
    if (moveCamera) {
      const d = sigma.getNodeDisplayData(id);
      if (d) void sigma.getCamera().animate({ x: d.x, y: d.y, ratio: Math.min(sigma.getCamera().ratio, 0.5) }, { duration: 300 });
    }
  }

  function clearSelection(): void {
    selected = null;
    setFocus(search.matches());
    panel.showOverview();
    document.body.classList.remove('has-selection');
  }

  function toggle(id: string): void {
    folding.toggle(id);
    rebuild();
    if (selected && !graph.hasNode(selected)) selected = null;
  }

  function refold(change: () => void): void {
    change();
    rebuild();
    clearSelection();
  }

  sigma.on('clickNode', (e) => select(e.node, false));
  sigma.on('doubleClickNode', (e) => {
    const node = drawnById.get(e.node);
    if (node?.kind !== 'group') return;
    e.preventSigmaDefault();
    toggle(e.node);
    select(node.members![0]!, true);
  });
  sigma.on('clickStage', clearSelection);
  sigma.on('enterNode', () => (container.style.cursor = 'pointer'));
  sigma.on('leaveNode', () => (container.style.cursor = ''));

  byId('fold-namespaces').addEventListener('click', () => refold(() => folding.foldAll('namespace')));
  byId('fold-jobs').addEventListener('click', () => refold(() => folding.foldAll('job')));
  byId('fold-families').addEventListener('click', () => refold(() => folding.foldAll('family')));
  byId('unfold-all').addEventListener('click', () => refold(() => folding.unfoldAll()));
  byId('fit').addEventListener('click', () => void sigma.getCamera().animatedReset({ duration: 300 }));

  search.onInput(() => {
    selected = null;
    setFocus(search.matches());
  });
  search.onStep((id) => select(id, true));
  search.onClear(clearSelection);
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && !search.focused()) {
      e.preventDefault();
      search.focus();
    }
    if (e.key === 'Escape' && !search.focused()) clearSelection();
  });

  hook.graph = graph;
  hook.renderer = sigma;
  hook.select = (id) => select(id, false);
  hook.toggle = toggle;
  hook.screenPosition = (id) => {
    const p = sigma.graphToViewport(graph.getNodeAttributes(id) as { x: number; y: number });
    const box = container.getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  };
  clearSelection();
}

function updateGroupButtons(): void {
  byId('group-buttons').hidden = folding.groups.size === 0;
  byId('fold-namespaces').hidden = folding.count('namespace') === 0;
  byId('fold-jobs').hidden = folding.count('job') === 0;
  byId('fold-families').hidden = folding.count('family') === 0;
}
