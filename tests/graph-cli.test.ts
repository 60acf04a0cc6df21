/**
 * pipe graph through the real CLI: the subtitle pipeline of this repo in every format, and a small synthetic
 * project with fresh, stale and never-run stages for --status (JSON, and the HTML page in headless Chromium).
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeProject, ok, PIPE_BIN, REPO_ROOT, type TestProject } from './helpers/pipe-project.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const hasDot = existsSync('/usr/bin/dot');

interface GraphJson {
  nodes: { id: string; kind: string; deps: string[]; outs: string[]; cmd?: string; state?: string; reasons?: string[] }[];
  edges: { from: string; to: string }[];
}

/** `pipe ARGS` in the repo (the subtitle pipeline); no run needed to draw it. */
async function pipe(args: string[], cwd = REPO_ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('node', [PIPE_BIN, ...args], { cwd, reject: false, env: { CI: '1', NO_COLOR: '1' }, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const projects: TestProject[] = [];
afterAll(() => {
  for (const p of projects.splice(0)) p.remove();
});

describe('pipe graph subtitle (the repo pipeline)', () => {
  let graph: GraphJson;
  beforeAll(async () => {
    const r = await pipe(['graph', 'subtitle', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    graph = JSON.parse(r.stdout) as GraphJson;
  });

  test('json: the SPEC shape, every edge between listed nodes, no state without --status', () => {
    expect(graph.nodes.length).toBeGreaterThanOrEqual(8);
    for (const n of graph.nodes) {
      expect(n).toEqual(expect.objectContaining({ id: expect.any(String), kind: expect.stringMatching(/^(stage|fetch)$/), deps: expect.any(Array), outs: expect.any(Array) }));
      expect(n.state).toBeUndefined();
    }
    const ids = new Set(graph.nodes.map((n) => n.id));
    expect(graph.edges.length).toBeGreaterThan(0);
    for (const e of graph.edges) expect(ids.has(e.from) && ids.has(e.to)).toBe(true);
    expect([...ids].some((id) => id.startsWith('mux@'))).toBe(true);
  });

  test('ascii fits 80 columns and names every stage', async () => {
    const r = await pipe(['graph', 'subtitle']);
    expect(r.code, r.stderr).toBe(0);
    const widths = r.stdout.split('\n').map((l) => [...l].length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(80);
    for (const n of graph.nodes) expect(r.stdout).toContain(n.id);
    expect(r.stdout).toContain('┌');
  });

  test.skipIf(!hasDot)('dot is valid Graphviz input (dot -Tsvg), svg and png through -o', async () => {
    const dot = await pipe(['graph', 'subtitle', '--format', 'dot']);
    expect(dot.code).toBe(0);
    const svg = await execa('dot', ['-Tsvg'], { input: dot.stdout, reject: false });
    expect(svg.exitCode, String(svg.stderr)).toBe(0);
    expect(String(svg.stdout)).toContain('<svg');

    const p = tempProject();
    const out = p.path('x.svg');
    const r = await pipe(['-f', `${REPO_ROOT}/pipeline.yaml`, 'graph', 'subtitle', '--format', 'svg', '-o', out], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('<svg');
    expect(text.match(/class="node"/g)?.length).toBe(graph.nodes.length);
    // the format follows the extension when --format is not given
    const png = await pipe(['-f', `${REPO_ROOT}/pipeline.yaml`, 'graph', 'subtitle', '-o', p.path('x.png')], p.dir);
    expect(png.code, png.stderr).toBe(0);
    expect(readFileSync(p.path('x.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  test('mermaid: a flowchart with every stage as a label', async () => {
    const r = await pipe(['graph', 'subtitle', '--format', 'mermaid']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^flowchart LR$/m);
    for (const n of graph.nodes) expect(r.stdout).toContain(`["${n.id}"]`);
    expect(r.stdout.match(/-->/g)?.length).toBe(graph.edges.length);
  });

  test('an unwritable -o is a user error, not a stack trace', async () => {
    const r = await pipe(['graph', 'subtitle', '-o', '/nonexistent-folder/graph.html']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write \/nonexistent-folder\/graph\.html/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

const STATE_PIPELINE = `version: 1
stages:
  x:
    desc: copy x
    cmd: cat in/x.txt > out/x.txt
    deps: [in/x.txt]
    outs: [out/x.txt]
  y:
    cmd: cat out/x.txt > out/y.txt
    deps: [out/x.txt]
    outs: [out/y.txt]
  z:
    cmd: cat in/z.txt > out/z.txt
    deps: [in/z.txt]
    outs: [out/z.txt]
  w:
    cmd: cat out/y.txt out/z.txt > out/w.txt
    deps: [out/y.txt, out/z.txt]
    outs: [out/w.txt]
`;

function tempProject(): TestProject {
  const p = makeProject(STATE_PIPELINE, { 'in/x.txt': 'x\n', 'in/z.txt': 'z\n' });
  projects.push(p);
  return p;
}

/** x and y fresh, z stale (its dep changed), w never run. */
async function projectWithStates(): Promise<TestProject> {
  const p = tempProject();
  ok(await p.run('x', 'y', 'z'));
  p.write('in/z.txt', 'z2\n');
  return p;
}

describe('pipe graph --status on a project where some stages ran and one is stale', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = await projectWithStates();
  });

  test('json carries kind, state and reasons', async () => {
    const r = await pipe(['graph', 'w', '--status', '--format', 'json'], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as GraphJson;
    const byId = Object.fromEntries(g.nodes.map((n) => [n.id, n]));
    expect(Object.keys(byId).sort()).toEqual(['w', 'x', 'y', 'z']);
    expect(byId.x).toEqual(expect.objectContaining({ kind: 'stage', state: 'fresh', cmd: 'cat in/x.txt > out/x.txt' }));
    expect(byId.y!.state).toBe('fresh');
    expect(byId.z!.state).toBe('stale');
    expect(byId.z!.reasons!.join(' ')).toContain('in/z.txt');
    expect(byId.w!.state).toBe('never-run');
    expect(g.edges).toEqual(expect.arrayContaining([{ from: 'x', to: 'y' }, { from: 'y', to: 'w' }, { from: 'z', to: 'w' }]));
  });

  test('ascii --status marks each state and lists the reasons', async () => {
    const r = await pipe(['graph', 'w', '--status'], p.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/~ stale/);
    expect(r.stdout).toMatch(/○ never run/);
    expect(r.stdout).toMatch(/z: .*in\/z\.txt/);
  });

  describe.skipIf(!existsSync(CHROMIUM))('the html page in headless Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    });
    afterAll(async () => {
      await browser?.close();
    });

    test('draws every stage and shows why the stale one would run', async () => {
      const r = await pipe(['graph', 'w', '--status', '--format', 'html', '-o', 'graph.html'], p.dir);
      expect(r.code, r.stderr).toBe(0);
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const requests: string[] = [];
      page.on('request', (req) => { if (!req.url().startsWith('file:')) requests.push(req.url()); });
      await page.goto(pathToFileURL(p.path('graph.html')).href);
      await page.waitForFunction(() => (window as any).__pipeGraph?.ready || (window as any).__pipeGraph?.error, null, { timeout: 30_000 });
      expect(await page.evaluate(() => (window as any).__pipeGraph.error)).toBeNull();
      expect(await page.evaluate(() => (window as any).__pipeGraph.nodeCount)).toBe(4);
      expect(await page.evaluate(() => (window as any).__pipeGraph.edgeCount)).toBe(3);
      expect(requests).toEqual([]);

      // before any click, the panel lists what a run would update, with reasons
      const panel = page.locator('#details');
      expect(await panel.textContent()).toMatch(/would update 2 of 4 stages/);
      expect(await panel.textContent()).toContain('in/z.txt');

      const at = await page.evaluate(() => (window as any).__pipeGraph.screenPosition('z'));
      await page.mouse.click(at.x, at.y);
      await expect.poll(() => panel.locator('h2').textContent()).toBe('z');
      const text = (await panel.textContent())!;
      expect(text).toContain('stale');
      expect(text).toContain('in/z.txt');
      expect(text).toContain('cat in/z.txt > out/z.txt');
      expect(await page.locator('#legend').textContent()).toMatch(/fresh · 2.*never run · 1.*stale · 1/s);
      await page.close();
    });
  });
});

describe('pipe graph on a foreach of one stage per item (a stage family)', () => {
  let p: TestProject;
  beforeAll(() => {
    const files = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`src/f${String(i).padStart(2, '0')}.c`, `int f${i};\n`]));
    p = makeProject(`version: 1
vars: {sources: "src/*.c"}
stages:
  prepare:
    cmd: [sh, -c, "echo '#define X 1' > gen/config.h"]
    outs: [gen/config.h]
  compile:
    foreach: sources
    cmd: [sh, -c, "cat \\"$0\\" gen/config.h > \\"$1\\"", "\${item}", "out/\${job}.o"]
    deps: ["\${item}", gen/config.h]
    outs: ["out/\${job}.o"]
`, files);
    projects.push(p);
  });

  test('ascii, dot and mermaid fold the 50 compile stages into compile@* (50)', async () => {
    for (const args of [['graph'], ['graph', '--collapse', 'all'], ['graph', '--format', 'dot', '--collapse', 'all'], ['graph', '--format', 'mermaid']]) {
      const r = await pipe(args, p.dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, args.join(' ')).toContain('compile@* (50)');
    }
    expect((await pipe(['graph', '--format', 'dot'], p.dir)).stdout).not.toContain('compile@*');
  });

  test('the page starts with the family folded', async () => {
    const r = await pipe(['graph', '-o', 'graph.html'], p.dir);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(p.path('graph.html'), 'utf8');
    const data = JSON.parse(html.match(/<script id="pipe-graph-data" type="application\/json">(.*?)<\/script>/s)![1]!) as { folded: string[]; nodes: unknown[] };
    expect(data.nodes).toHaveLength(51);
    expect(data.folded).toEqual(['compile@*']);
  });
});
