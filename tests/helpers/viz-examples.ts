/** Example graph models: the subtitle pipeline's shape (for tests and docs) and synthetic batches (for benchmarks). */
import type { StageState, VizGraph, VizNode } from '../../src/viz/model.js';

const PER_JOB: [string, string[], string[]][] = [
  ['demux', [], ['bootstrap:tools']],
  ['vad', ['demux'], ['cache:silero-vad', 'bootstrap:env:torch']],
  ['asr', ['vad'], ['cache:faster-whisper-large-v3', 'bootstrap:env:whisperx']],
  ['align', ['asr'], ['cache:wav2vec2-align', 'bootstrap:env:whisperx']],
  ['translate', ['align'], ['cache:nllb-200-3.3b', 'bootstrap:env:nllb']],
  ['subtitle', ['translate'], []],
  ['mux', ['subtitle', 'demux'], ['bootstrap:tools']],
];

const SHARED: [string, VizNode['kind']][] = [
  ['bootstrap:tools', 'stage'], ['bootstrap:env:torch', 'stage'], ['bootstrap:env:whisperx', 'stage'],
  ['bootstrap:env:nllb', 'stage'], ['cache:silero-vad', 'fetch'], ['cache:faster-whisper-large-v3', 'fetch'],
  ['cache:wav2vec2-align', 'fetch'], ['cache:nllb-200-3.3b', 'fetch'],
];

export function node(id: string, kind: VizNode['kind'] = 'stage', extra: Partial<VizNode> = {}): VizNode {
  const at = id.lastIndexOf('@');
  const base = at >= 0 ? id.slice(0, at) : id;
  const colon = base.lastIndexOf(':');
  return {
    id,
    kind,
    namespace: colon >= 0 ? base.slice(0, colon) : undefined,
    job: at >= 0 ? id.slice(at + 1) : undefined,
    template: at >= 0 ? base : undefined,
    deps: [],
    outs: [],
    params: {},
    ...extra,
  };
}

/** The subtitle pipeline over `jobs` films: shared bootstrap and cache stages, seven stages per film, a report. */
export function subtitleGraph(jobs: string[] = ['demo'], states = false): VizGraph {
  const nodes: VizNode[] = SHARED.map(([id, kind]) => node(id, kind, { desc: kind === 'fetch' ? `model snapshot ${id.slice(6)}` : 'environment', outs: [`.cache/${id.replace(/:/g, '/')}`] }));
  const edges: VizGraph['edges'] = [];
  const name = (stage: string, job: string): string => (jobs.length === 1 && job === 'demo' ? stage : `${stage}@${job}`);
  for (const job of jobs) {
    for (const [stage, upstream, needs] of PER_JOB) {
      const id = name(stage, job);
      nodes.push(node(id, 'stage', {
        desc: `${stage} for ${job}`,
        cmd: `python stages/${stage}.py --job ${job}`,
        deps: upstream.map((u) => `out/${job}/${u}.out`),
        outs: [`out/${job}/${stage}.out`],
        params: stage === 'translate' ? { lang: 'fr' } : {},
        lastRun: { at: '2025-01-01T10:00:00Z', ms: 1200 },
      }));
      for (const u of upstream) edges.push({ from: name(u, job), to: id });
      for (const n of needs) edges.push({ from: n, to: id });
    }
  }
  nodes.push(node('report', 'stage', { desc: 'Summary of all films', cmd: 'python stages/report.py', outs: ['out/report.html'] }));
  for (const job of jobs) edges.push({ from: name('mux', job), to: 'report' });
  return states ? withStates({ nodes, edges }) : { nodes, edges };
}

const STATE_CYCLE: StageState[] = ['fresh', 'fresh', 'stale', 'fresh', 'never-run', 'fresh', 'missing-outputs', 'failed', 'fresh', 'running'];

/** Deterministic states and reasons, so every state shows up. */
export function withStates(graph: VizGraph): VizGraph {
  return {
    ...graph,
    nodes: graph.nodes.map((n, i) => {
      const state = stateAt(i);
      const reasons = state === 'stale' ? ['param lang changed (en → fr)'] : state === 'never-run' ? ['no previous run'] : state === 'missing-outputs' ? [`output ${n.outs[0] ?? 'out'} is missing`] : state === 'failed' ? ['exit code 1 in the last run'] : [];
      return { ...n, state, reasons };
    }),
  };
}
const stateAt = (i: number): StageState => STATE_CYCLE[i % STATE_CYCLE.length]!;

/** A synthetic batch of about `stages` stages: the subtitle pipeline repeated over enough films. */
export function batchGraph(stages: number, states = true): VizGraph {
  const jobCount = Math.max(1, Math.ceil((stages - SHARED.length - 1) / PER_JOB.length));
  const jobs = Array.from({ length: jobCount }, (_, i) => `film${String(i + 1).padStart(4, '0')}`);
  return subtitleGraph(jobs, states);
}

/** A foreach of one stage per item: `prepare` → `compile@<item>` × items → `link` (one tall column when unfolded). */
export function familyGraph(items: number, states = false): VizGraph {
  const names = Array.from({ length: items }, (_, i) => `src${String(i + 1).padStart(3, '0')}`);
  const nodes = [node('prepare'), ...names.map((item) => node(`compile@${item}`, 'stage', { cmd: `cc -c ${item}.c`, outs: [`out/${item}.o`] })), node('link')];
  const edges = names.flatMap((item) => [{ from: 'prepare', to: `compile@${item}` }, { from: `compile@${item}`, to: 'link' }]);
  return states ? withStates({ nodes, edges }) : { nodes, edges };
}

/** A layered graph as bench/generate.js writes it: `width` stages per layer, each reading two of the layer above. */
export function wideGraph(stages: number, layers = 10): VizGraph {
  const width = Math.ceil(stages / layers);
  const name = (layer: number, index: number): string => `s_${layer}_${index}`;
  const nodes: VizNode[] = [];
  const edges: VizGraph['edges'] = [];
  for (let i = 0; i < stages; i++) {
    const layer = Math.floor(i / width);
    const index = i % width;
    nodes.push(node(name(layer, index)));
    if (layer === 0) continue;
    const partner = (index + 1 + ((layer * 7919 + index * 104729) % Math.max(1, width - 1))) % width;
    for (const from of new Set([index, partner])) edges.push({ from: name(layer - 1, from), to: name(layer, index) });
  }
  return { nodes, edges };
}
