/** pipe plots through the bundled CLI, the page opened in headless Chromium: plot files and metrics across runs. */
import { copyFileSync, existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ok, projectsRemovedAfterAll } from '../helpers/pipe-project.js';
import { TWO_PARAMS } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the plots page test: ${CHROMIUM} not found (apt-get install chromium)`);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const project = projectsRemovedAfterAll();

describe.skipIf(!hasChromium)('pipe plots in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('draws the declared plot file, the sweep and each metric across the runs, offline', async () => {
    const p = project(TWO_PARAMS);
    ok(await p.run('--sweep', 'b=10,20,40'));
    ok(await p.run('--set', 'b=30'));
    const made = JSON.parse(ok(await p.pipe(['plots', '-o', 'page.html'])).stdout);
    expect(made.file).toBe('page.html');
    expect(made.plots.map((x: { title: string }) => x.title)).toEqual(['curve.csv', 'score against b', 'nested.loss against b', 'score', 'nested.loss']);

    const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(p.path('page.html')).href);
    await page.waitForFunction(() => (window as any).__pipePlots?.ready || (window as any).__pipePlots?.error, null, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as any).__pipePlots.error)).toBeNull();
    expect(requests).toEqual([]);
    expect(await page.locator('figure.plot').count()).toBe(5);
    // curve.csv of the last run (b=30): loss 30 then 15, one series, two points, a line of real length
    const curve = page.locator('figure.plot').first();
    expect(await curve.locator('circle.point').count()).toBe(2);
    expect(await curve.locator('circle.point title').allTextContents()).toEqual(['loss: 30 at 1', 'loss: 15 at 2']);
    expect(await curve.locator('polyline.series').evaluate((l) => (l as SVGPolylineElement).getTotalLength())).toBeGreaterThan(100);
    // the sweep: score against b, one point per variant
    const sweep = page.locator('figure.plot').nth(1);
    expect(await sweep.locator('circle.point title').allTextContents()).toEqual(['score: 10 at 10', 'score: 20 at 20', 'score: 40 at 40']);
    // score across the four recorded runs (three variants, then b=30)
    const history = page.locator('figure.plot').nth(3);
    expect(await history.locator('circle.point').count()).toBe(4);
    expect(await history.locator('figcaption').textContent()).toContain('over the 4 recorded runs');
    const png = await page.screenshot({ fullPage: true });
    expect(png.length).toBeGreaterThan(10_000);
    if (process.env.PIPE_SCREENSHOT) copyFileSync(p.path('page.html'), `${process.env.PIPE_SCREENSHOT}.html`);
    if (process.env.PIPE_SCREENSHOT) await page.screenshot({ fullPage: true, path: process.env.PIPE_SCREENSHOT });
    await page.close();
  });

  test('a plot file that is not there or not a table is named on the page and on stderr, not fatal', async () => {
    const p = project(TWO_PARAMS);
    ok(await p.run());
    p.write('curve.csv', 'just one column\nno numbers\n');
    const out = ok(await p.pipe(['plots'], { json: false }));
    expect(out.stdout).toMatch(/plots\.html: 2 plots/);
    expect(out.stderr).toMatch(/curve\.csv: needs a header row and at least two columns/);
    expect(p.read('plots.html')).toContain('curve.csv: needs a header row');
  });
});
