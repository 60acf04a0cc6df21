/**
 * A foreach scales linearly in its items: 10x the items must take well under 15x the time to validate
 * (it was quadratic: 100,000 items took minutes). Through the bundled CLI; the ratio, not a fixed time.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { makeProject, ok, type TestProject } from '../helpers/pipe-project.js';

const projects: TestProject[] = [];
afterAll(() => projects.forEach((p) => p.remove()));

/** two templates over the same items, the second needing the first job by job, and a sink needing all */
function foreachPipeline(items: number): TestProject {
  const lines = ['version: 1', 'vars:', '  films:'];
  for (let i = 0; i < items; i++) lines.push(`    - films/f${i}.mp4`);
  lines.push(
    'stages:',
    '  probe:', '    foreach: films', '    cmd: echo ${item} > out/${job}.txt', '    outs: ["out/${job}.txt"]',
    '  sub:', '    foreach: films', '    cmd: cat out/${job}.txt > sub/${job}.txt', '    outs: ["sub/${job}.txt"]', '    needs: [probe]',
    '  report:', '    cmd: ls sub > report.txt', '    outs: [report.txt]', '    needs: [sub]',
  );
  const p = makeProject(lines.join('\n') + '\n');
  projects.push(p);
  return p;
}

async function validateMs(p: TestProject, stages: number): Promise<number> {
  const started = performance.now();
  const r = ok(await p.pipe(['validate'], { json: false, timeoutMs: 120_000 }));
  const ms = performance.now() - started;
  expect(r.stdout).toContain(`valid (${stages} stages`);
  return ms;
}

describe('foreach at scale', () => {
  test('50,000 items validate in less than 15x the time of 5,000', async () => {
    const small = foreachPipeline(5_000);
    const large = foreachPipeline(50_000);
    await validateMs(small, 10_001); // warm the disk cache and node's compile cache alike
    const smallMs = Math.min(await validateMs(small, 10_001), await validateMs(small, 10_001));
    const largeMs = await validateMs(large, 100_001);
    expect(largeMs / smallMs, `${smallMs.toFixed(0)} ms vs ${largeMs.toFixed(0)} ms`).toBeLessThan(15);
  }, 180_000);
});
