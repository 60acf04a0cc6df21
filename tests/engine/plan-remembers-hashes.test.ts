/**
 * A dry run (and status) remembers the hashes it took in .pipe/stat-cache, so the next command does not
 * read the same files again; but never over a stat cache that a run saved since the plan loaded it.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { StatCache } from '../../src/hash/index.js';
import { ok, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const scratch = mkdtempSync(path.join(tmpdir(), 'pipe-stat-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PIPELINE = `version: 1
stages:
  copy:
    cmd: cat src.txt > out.txt
    deps: [src.txt]
    outs: [out.txt]
`;

/** Until the file's change time is older than the racy window (a hash taken in it is not remembered, by design). */
async function settled(file: string): Promise<void> {
  while (Date.now() - statSync(file).ctimeMs < 250) await new Promise((r) => setTimeout(r, 50));
}

const cached = (file: string) => (readFileSync(file, 'utf8').match(/^[^\t\n]+(?=\t)/gm) ?? []).map((p) => path.basename(p));

describe('a plan remembers what it hashed', () => {
  test.each(['run -n', 'status'])('pipe %s: the dep is in .pipe/stat-cache, and nothing ran', async (command) => {
    const p = project(PIPELINE, { 'src.txt': 'hello\n' });
    await settled(p.path('src.txt'));
    ok(await p.pipe(command.split(' '), { json: false }));
    expect(cached(p.path('.pipe/stat-cache'))).toContain('src.txt');
    expect(p.exists('out.txt')).toBe(false);
  });

  test('a stat cache saved by someone else after it was loaded is not overwritten', async () => {
    const file = path.join(scratch, 'stat-cache');
    const [a, b] = ['a.txt', 'b.txt'].map((name) => path.join(scratch, name));
    writeFileSync(a!, 'a\n');
    writeFileSync(b!, 'b\n');
    await settled(b!);
    const plan = new StatCache(file);
    await plan.hash(a!);
    const run = new StatCache(file);
    await run.hash(b!);
    run.save();
    plan.saveIfUnchanged();
    expect(cached(file)).toEqual(['b.txt']);
    const next = new StatCache(file);
    await next.hash(a!);
    next.saveIfUnchanged();
    expect(cached(file).sort()).toEqual(['a.txt', 'b.txt']);
  });
});
