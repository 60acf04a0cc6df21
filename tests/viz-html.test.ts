import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { render } from '../src/viz/index.js';
import { batchGraph, familyGraph, subtitleGraph } from './helpers/viz-examples.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the HTML page tests: ${CHROMIUM} not found (apt-get install chromium)`);

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!hasChromium)('html page in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pipe-viz-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(html: string, name: string): Promise<Page> {
    const file = join(dir, name);
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // the page must work offline: any request other than the file itself fails the test
    const requests: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => (window as any).__pipeGraph?.ready || (window as any).__pipeGraph?.error, null, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as any).__pipeGraph.error)).toBeNull();
    expect(requests).toEqual([]);
    return page;
  }

  it('draws every stage, shows a clicked stage in the panel, and is not blank', async () => {
    const graph = subtitleGraph(['demo-1a2b3c4d', 'demo2-9f8e7d6c'], true);
    const page = await open((await render(graph, 'html', { status: true, color: false, title: 'subtitle' })) as string, 'small.html');
    expect(await page.evaluate(() => (window as any).__pipeGraph.nodeCount)).toBe(graph.nodes.length);
    expect(await page.evaluate(() => (window as any).__pipeGraph.edgeCount)).toBe(graph.edges.length);

    const at = await page.evaluate(() => (window as any).__pipeGraph.screenPosition('translate@demo-1a2b3c4d'));
    await page.mouse.move(at.x, at.y);
    await page.mouse.click(at.x, at.y);
    const panel = page.locator('#details');
    await expect.poll(() => panel.textContent()).toContain('translate@demo-1a2b3c4d');
    const text = await panel.textContent();
    for (const part of ['python stages/translate.py --job demo-1a2b3c4d', 'out/demo-1a2b3c4d/align.out', 'out/demo-1a2b3c4d/translate.out', '"lang": "fr"', 'stale', 'param lang changed (en → fr)', '1.2 s']) {
      expect(text).toContain(part);
    }

    const png = await page.locator('#graph').screenshot();
    expect(pixelSpread(png)).toBeGreaterThan(5);
    await page.close();
  });

  it('folds and unfolds namespaces and jobs, and searches', async () => {
    const graph = subtitleGraph(['a', 'b', 'c'], true);
    const page = await open((await render(graph, 'html', { status: true, color: false, collapse: 'none' })) as string, 'fold.html');
    const count = (): Promise<number> => page.evaluate(() => (window as any).__pipeGraph.nodeCount);
    expect(await count()).toBe(graph.nodes.length);
    await page.click('#fold-namespaces');
    expect(await count()).toBe(graph.nodes.length - 8 + 3); // bootstrap:env:* (3), cache:* (4) and bootstrap:tools alone
    await page.click('#fold-jobs');
    expect(await count()).toBe(3 + 3 + 1);
    await page.click('#unfold-all');
    expect(await count()).toBe(graph.nodes.length);
    await page.fill('#search', 'translate@');
    await expect.poll(() => page.locator('#search-info').textContent()).toBe('3 matches');
    await page.close();
  });

  it('folds a 50-item foreach of one stage each by stage family, and unfolds it', async () => {
    const graph = familyGraph(50, true);
    const page = await open((await render(graph, 'html', { status: true, color: false })) as string, 'family.html');
    const count = (): Promise<number> => page.evaluate(() => (window as any).__pipeGraph.nodeCount);
    const labels = (): Promise<string[]> => page.evaluate(() => (window as any).__pipeGraph.graph.mapNodes((_: string, a: any) => a.label));
    expect(await count()).toBe(3);
    expect(await labels()).toContain('compile@* (50)');
    await page.evaluate(() => (window as any).__pipeGraph.select('compile@*'));
    const panel = page.locator('#details');
    await expect.poll(() => panel.textContent()).toContain('Stage family folded into one node: 50 stages.');
    expect(await panel.textContent()).toContain('failed');
    await page.click('#unfold-all');
    expect(await count()).toBe(52);
    await page.click('#fold-families');
    expect(await count()).toBe(3);
    const at = await page.evaluate(() => (window as any).__pipeGraph.screenPosition('compile@*'));
    await page.mouse.dblclick(at.x, at.y);
    await expect.poll(count).toBe(52);
    // one tall column: the labels are left to sigma's label grid rather than all forced on top of each other
    const forced = await page.evaluate(() => (window as any).__pipeGraph.graph.filterNodes((_: string, a: any) => a.forceLabel).length);
    expect(forced).toBe(0);
    await page.close();
  });

  it('folds jobs and families the other way round from each other', async () => {
    const graph = subtitleGraph(['a', 'b', 'c'], true);
    const page = await open((await render(graph, 'html', { status: true, color: false, collapse: 'none' })) as string, 'families.html');
    const count = (): Promise<number> => page.evaluate(() => (window as any).__pipeGraph.nodeCount);
    await page.click('#fold-families');
    expect(await count()).toBe(8 + 7 + 1); // shared stages, one node per family of three, report
    await page.click('#fold-jobs');
    expect(await count()).toBe(8 + 3 + 1);
    await page.close();
  });

  it('draws 5,000 stages', async () => {
    const graph = batchGraph(5000);
    const page = await open((await render(graph, 'html', { status: true, color: false, collapse: 'none' })) as string, 'big.html');
    expect(await page.evaluate(() => (window as any).__pipeGraph.nodeCount)).toBe(5000);
    const ms = await page.evaluate(() => (window as any).__pipeGraph.firstRenderMs);
    console.log(`5,000 stages: first render ${Math.round(ms)} ms after navigation`);
    expect(ms).toBeLessThan(20_000);
    await page.close();
  });
});

/** Standard deviation of the grey levels of a PNG (8-bit RGB/RGBA, non-interlaced, as Chromium writes it). */
function pixelSpread(png: Buffer): number {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const channels = png[25] === 6 ? 4 : 3;
  const chunks: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + length));
    at += length + 12;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const stride = width * channels;
  const previous = new Uint8Array(stride);
  const row = new Uint8Array(stride);
  let sum = 0;
  let sumSquares = 0;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? row[i - channels]! : 0;
      const b = previous[i]!;
      const c = i >= channels ? previous[i - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      row[i] = (x + [0, a, b, (a + b) >> 1, paeth][filter]!) & 255;
    }
    for (let i = 0; i < stride; i += channels) {
      const grey = (row[i]! + row[i + 1]! + row[i + 2]!) / 3;
      sum += grey;
      sumSquares += grey * grey;
    }
    previous.set(row);
  }
  const n = width * height;
  return Math.sqrt(sumSquares / n - (sum / n) ** 2);
}
