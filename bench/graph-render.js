#!/usr/bin/env node
// Time to first render of the `pipe graph --format html` page in headless Chromium, and frame rate while zooming.
//
//   npx tsc && node bench/graph-render.js [--stages 5000] [--runs 3] [--out FILE.html]
//
// The graph is the subtitle pipeline repeated over enough films (tests/helpers/viz-examples.ts), every stage expanded.
// "first render" = performance.now() (ms since navigation start) when sigma.js has drawn its first frame:
// it includes parsing the inlined libraries and data, the page's layered layout and the WebGL upload.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.PIPE_DIST ?? path.join(here, '..', 'dist');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function parseArgs(argv) {
  const opts = { stages: 5000, runs: 3, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--stages') opts.stages = Number(argv[++i]);
    else if (argv[i] === '--runs') opts.runs = Number(argv[++i]);
    else if (argv[i] === '--out') opts.out = argv[++i];
  }
  return opts;
}

// The example graphs are test helpers in TypeScript: bundle them on the fly rather than ship them in dist/.
async function loadExamples() {
  const { build } = await import('esbuild');
  const root = path.join(here, '..');
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'pipe-viz-examples-')), 'viz-examples.mjs');
  await build({ entryPoints: [path.join(root, 'tests', 'helpers', 'viz-examples.ts')], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'silent' });
  return import(pathToFileURL(out).href);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(dist, 'viz', 'index.js'))) throw new Error(`no build at ${dist}: run \`npx tsc\` first`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM=...)`);
  const { render } = await import(pathToFileURL(path.join(dist, 'viz', 'index.js')).href);
  const { batchGraph } = await loadExamples();
  const { chromium } = await import('playwright-core');

  const graph = batchGraph(opts.stages);
  let started = performance.now();
  const html = await render(graph, 'html', { status: true, color: false, collapse: 'none', title: `${graph.nodes.length} stages` });
  const renderMs = performance.now() - started;
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-graph-bench-'));
  const file = opts.out ?? path.join(dir, 'graph.html');
  writeFileSync(file, html);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const firstRender = [];
  const loadWall = [];
  const fps = [];
  try {
    for (let run = 0; run < opts.runs; run++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      started = performance.now();
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(() => window.__pipeGraph?.ready || window.__pipeGraph?.error, null, { timeout: 120_000 });
      loadWall.push(performance.now() - started);
      const hook = await page.evaluate(() => ({ ms: window.__pipeGraph.firstRenderMs, nodes: window.__pipeGraph.nodeCount, error: window.__pipeGraph.error }));
      if (hook.error) throw new Error(`page failed: ${hook.error}`);
      if (hook.nodes !== graph.nodes.length) throw new Error(`page drew ${hook.nodes} nodes, expected ${graph.nodes.length}`);
      firstRender.push(hook.ms);
      fps.push(await page.evaluate(() => new Promise((resolve) => {
        // frames drawn while the camera zooms in for one second
        const camera = window.__pipeGraph.renderer.getCamera();
        let frames = 0;
        const t0 = performance.now();
        const tick = () => { frames++; if (performance.now() - t0 < 1000) requestAnimationFrame(tick); else resolve(frames / ((performance.now() - t0) / 1000)); };
        camera.animate({ ratio: 0.2 }, { duration: 1000 });
        requestAnimationFrame(tick);
      })));
      await page.close();
    }
  } finally {
    await browser.close();
    if (!opts.out) rmSync(dir, { recursive: true, force: true });
  }
  console.log(`stages: ${graph.nodes.length}, edges: ${graph.edges.length}, page: ${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB, renderHtml: ${renderMs.toFixed(0)} ms`);
  console.log(`first render (ms since navigation, median of ${opts.runs}): ${median(firstRender).toFixed(0)}  [${firstRender.map((v) => v.toFixed(0)).join(', ')}]`);
  console.log(`goto -> ready, wall (median): ${median(loadWall).toFixed(0)} ms`);
  console.log(`frames/s while zooming (median): ${median(fps).toFixed(0)}`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
