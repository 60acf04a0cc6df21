import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { collapse, render, type VizGraph } from '../src/viz/index.js';
import { batchGraph, familyGraph, node, subtitleGraph, wideGraph } from './helpers/viz-examples.js';
import { mermaidIds } from '../src/viz/mermaid.js';
import { runGraphviz } from '../src/viz/svg.js';
import { longestPathLayers } from '../src/viz/layout.js';

const hasDot = ['/usr/bin/dot', '/usr/local/bin/dot', '/opt/homebrew/bin/dot'].some((p) => existsSync(p));
const plain = { status: false, color: false };
const withStatus = { status: true, color: false };
const visibleWidth = (line: string): number => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length;

/** ~20 stages: the subtitle pipeline for one film plus its bootstrap and model-cache stages. */
function twentyStages(): VizGraph {
  const graph = subtitleGraph(['demo'], true);
  const extra = ['qc', 'burn-in', 'thumbnails', 'publish'].map((id) => node(id, 'stage', { reasons: ['no previous run'], state: 'never-run' as const }));
  return { nodes: [...graph.nodes, ...extra], edges: [...graph.edges, ...extra.map((n) => ({ from: 'mux', to: n.id }))] };
}

describe('dot', () => {
  it.skipIf(!hasDot)('is accepted by Graphviz, with every stage in the drawing', async () => {
    const graph = subtitleGraph(['demo-1a2b3c4d', 'demo2-9f8e7d6c'], true);
    graph.nodes[0]!.desc = 'quotes " and \\ backslashes\nand a newline';
    const dot = (await render(graph, 'dot', withStatus)) as string;
    expect(dot).toContain('rankdir=LR');
    const { stdout } = await execa('dot', ['-Tsvg'], { input: dot });
    expect(stdout).toContain('<svg');
    for (const n of graph.nodes) expect(stdout).toContain(`<title>${n.id.replace(/-/g, '&#45;')}</title>`);
    for (const state of ['stale', 'failed', 'never run']) expect(stdout).toContain(state);
  });

  it.skipIf(!hasDot)('renders svg and png through Graphviz', async () => {
    const svg = (await render(subtitleGraph(), 'svg', plain)) as Buffer;
    expect(svg.toString()).toContain('<svg');
    const png = (await render(subtitleGraph(), 'png', plain)) as Buffer;
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('says how to install Graphviz when dot is missing', async () => {
    await expect(runGraphviz('digraph {}', 'svg', 'dot-not-installed-here')).rejects.toThrow(/apt-get install graphviz.*brew install graphviz/);
  });
});

describe('json', () => {
  it('has the SPEC shape plus kind, state and reasons', async () => {
    const graph = subtitleGraph(['demo'], true);
    const parsed = JSON.parse((await render(graph, 'json', withStatus)) as string);
    expect(Object.keys(parsed).sort()).toEqual(['edges', 'nodes']);
    expect(parsed.nodes.map((n: { id: string }) => n.id)).toEqual(graph.nodes.map((n) => n.id));
    expect(parsed.edges).toEqual(graph.edges);
    const translate = parsed.nodes.find((n: { id: string }) => n.id === 'translate');
    expect(translate).toMatchObject({ kind: 'stage', state: 'stale', reasons: ['param lang changed (en → fr)'], params: { lang: 'fr' } });
    expect(parsed.nodes.find((n: { id: string }) => n.id === 'cache:nllb-200-3.3b').kind).toBe('fetch');
  });

  it('leaves state out without --status', async () => {
    const parsed = JSON.parse((await render(subtitleGraph(['demo'], true), 'json', plain)) as string);
    expect(parsed.nodes[0]).not.toHaveProperty('state');
  });
});

describe('ascii', () => {
  it('fits 80 columns and names every stage of a ~20-stage pipeline', async () => {
    const graph = twentyStages();
    expect(graph.nodes.length).toBe(20);
    for (const opts of [plain, withStatus, { status: true, color: true }]) {
      const text = (await render(graph, 'ascii', opts)) as string;
      const lines = text.split('\n');
      expect(Math.max(...lines.map(visibleWidth))).toBeLessThanOrEqual(80);
      for (const n of graph.nodes) expect(text).toContain(n.id);
    }
  });

  it('draws boxes, arrows and the states with their reasons', async () => {
    const text = (await render(subtitleGraph(['demo'], true), 'ascii', withStatus)) as string;
    expect(text).toMatch(/┌─+┐/);
    expect(text).toContain('▼');
    expect(text).toContain('│ translate │');
    expect(text).toContain('~ translate: param lang changed (en → fr)');
    expect(text).not.toContain('\u001b[');
  });

  it('colours only when asked', async () => {
    const text = (await render(subtitleGraph(['demo'], true), 'ascii', { status: true, color: true })) as string;
    expect(text).toContain('\u001b[33m');
  });

  it('puts every stage below the stages it depends on', async () => {
    const text = (await render(subtitleGraph(['demo']), 'ascii', plain)) as string;
    const row = (id: string): number => text.split('\n').findIndex((line) => line.includes(`│ ${id} `));
    for (const [from, to] of [['demux', 'vad'], ['asr', 'align'], ['translate', 'subtitle'], ['mux', 'report'], ['cache:nllb-200-3.3b', 'translate']]) {
      expect(row(from)).toBeLessThan(row(to));
    }
  });

  it('draws a graph far wider than the terminal in about linear time, listing the edges it cannot draw', async () => {
    const sizes = [1000, 4000];
    const ms: number[] = [];
    for (const stages of sizes) {
      const graph = wideGraph(stages);
      const started = performance.now();
      const text = (await render(graph, 'ascii', plain)) as string;
      ms.push(performance.now() - started);
      const lines = text.split('\n');
      expect(Math.max(...lines.map(visibleWidth))).toBeLessThanOrEqual(80);
      for (const n of graph.nodes) expect(text).toMatch(new RegExp(`[│ ]${n.id}[ ,\n]`));
      expect(text).toContain('Not drawn (more than 8 rows apart):');
    }
    // quadratic drawing took 69 s at 1,000 stages; linear is well under a second per thousand here
    expect(ms[1]!).toBeLessThan(8000);
    expect(ms[1]! / ms[0]!).toBeLessThan(4 * 3);
  });

  it('folds a tall foreach column by stage family', async () => {
    const text = (await render(familyGraph(50), 'ascii', plain)) as string;
    expect(text).toContain('compile@* (50)');
    expect(text.split('\n').length).toBeLessThan(40);
  });

  it('folds a 100-film batch and still fits 80 columns', async () => {
    const text = (await render(batchGraph(709), 'ascii', withStatus)) as string;
    expect(Math.max(...text.split('\n').map(visibleWidth))).toBeLessThanOrEqual(80);
    expect(text).toContain('asr@* (100)');
    expect(text).toContain('cache:* (4)');
  });
});

describe('mermaid', () => {
  it('is a left-to-right flowchart with every edge, safe ids and the real names as labels', async () => {
    const graph = subtitleGraph(['demo-1a2b3c4d', 'demo2-9f8e7d6c'], true);
    const text = (await render(graph, 'mermaid', { ...withStatus, collapse: 'none' })) as string;
    const ids = mermaidIds(graph.nodes.map((n) => n.id));
    expect(text.split('\n')[0]).toBe('flowchart LR');
    for (const e of graph.edges) expect(text).toContain(`  ${ids.get(e.from)} --> ${ids.get(e.to)}\n`);
    for (const [name, id] of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_]+$/);
      expect(text).toContain(`${id}${name.startsWith('cache:') ? '[("' : '["'}${name}`);
    }
    expect(text).toMatch(/classDef state_stale fill:#[0-9a-f]{6}/);
    expect(text).toContain('subgraph');
  });

  it('folds large graphs by default', async () => {
    const text = (await render(batchGraph(709), 'mermaid', withStatus)) as string;
    expect(text.split('\n').filter((l) => l.includes('-->')).length).toBeLessThan(40);
    expect(text).toContain('asr@* (100)');
  });
});

describe('collapse', () => {
  it('reduces a 100-job graph to its shape and keeps every stage in exactly one node', () => {
    const graph = batchGraph(709);
    expect(new Set(graph.nodes.map((n) => n.job).filter(Boolean)).size).toBe(100);
    const folded = collapse(graph, 'auto');
    expect(folded.nodes.length).toBeLessThan(15);
    const covered = folded.nodes.flatMap((n) => n.members ?? [n.id]).sort();
    expect(covered).toEqual(graph.nodes.map((n) => n.id).sort());
    const ids = new Set(folded.nodes.map((n) => n.id));
    for (const e of folded.edges) expect(ids.has(e.from) && ids.has(e.to) && e.from !== e.to).toBe(true);
    expect(folded.nodes.find((n) => n.id === 'asr@*')?.state).toBe('failed');
  });

  it('folds each job into one node with `all`', () => {
    const graph = batchGraph(709);
    const folded = collapse(graph, 'all');
    expect(folded.nodes.filter((n) => n.id.startsWith('*@')).length).toBe(100);
    expect(folded.nodes.find((n) => n.id === '*@film0001')?.members).toHaveLength(7);
  });

  it('folds jobs of one stage each by family with `all`, in every format that folds', async () => {
    const graph = familyGraph(50, true);
    const folded = collapse(graph, 'all');
    expect(folded.nodes.map((n) => n.id)).toEqual(['prepare', 'compile@*', 'link']);
    expect(folded.nodes[1]!.members).toHaveLength(50);
    expect(folded.edges).toEqual([{ from: 'prepare', to: 'compile@*' }, { from: 'compile@*', to: 'link' }]);
    for (const format of ['ascii', 'dot', 'mermaid'] as const) {
      expect((await render(graph, format, { ...withStatus, collapse: 'all' })) as string).toContain('compile@* (50)');
    }
    // jobs of several stages still fold by job
    expect(collapse(batchGraph(709), 'all').nodes.some((n) => n.id === 'asr@*')).toBe(false);
  });

  it('leaves small graphs alone with `auto`', () => {
    const graph = subtitleGraph(['demo']);
    expect(collapse(graph, 'auto')).toBe(graph);
  });
});

describe('layout', () => {
  it('layers every edge downstream, even over 5,000 stages', () => {
    const graph = batchGraph(5000);
    const started = performance.now();
    const layerOf = longestPathLayers(graph.nodes.map((n) => n.id), graph.edges);
    expect(performance.now() - started).toBeLessThan(2000);
    for (const e of graph.edges) expect(layerOf.get(e.from)!).toBeLessThan(layerOf.get(e.to)!);
  });
});
