/**
 * .pipe/compiled/ (the parsed pipeline reused by later commands) is never trusted blindly: an entry that is
 * not what this build wrote, or was edited, is ignored and compiled again from pipeline.yaml.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ok, projectsRemovedAfterAll, statuses, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

const PIPELINE = `version: 1
stages:
  a:
    cmd: echo real > a.txt
    outs: [a.txt]
`;

function compiledFiles(p: TestProject): string[] {
  const dir = p.path('.pipe/compiled');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f));
}

function rewriteCompiled(p: TestProject, change: (text: string) => string): void {
  const files = compiledFiles(p);
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) writeFileSync(file, change(readFileSync(file, 'utf8')));
}

function withDigest(json: string): string {
  return `${createHash('sha256').update(json).digest('hex')}\n${json}`;
}

const edits: [string, (text: string) => string][] = [
  ['null', () => 'null'],
  ['an empty list', () => '[]'],
  ['a foreign format', () => '{"format":3}'],
  ['garbage', () => '\u0000\u0001 not json {{{'],
  ['empty', () => ''],
  ['the right format but no pipeline', () => '{"format":4,"imports":{},"args":[]}'],
  ['a matching digest over the wrong shape', () => withDigest('{"format":4,"imports":{},"args":[],"pipeline":{"stages":7}}')],
  ['a matching digest over null', () => withDigest('null')],
  ['a hand-edited command', (text) => text.replace('echo real', 'echo fake')],
  ['a hand-edited command, digest line dropped', (text) => text.slice(text.indexOf('\n') + 1).replace('echo real', 'echo fake')],
];

describe.concurrent('.pipe/compiled', () => {
  test.each(edits)('%s: commands work and use the real pipeline', async (_, change) => {
    const p = project(PIPELINE);
    ok(await p.run());
    rewriteCompiled(p, change);
    const status = ok(await p.pipe(['status', '--json'], { json: false }));
    expect(JSON.parse(status.stdout).stages).toEqual([expect.objectContaining({ name: 'a', state: 'fresh' })]);
    ok(await p.pipe(['list'], { json: false }));
    rewriteCompiled(p, change);
    expect(statuses(ok(await p.run('--force')))).toEqual({ a: 'ran' });
    expect(p.read('a.txt')).toBe('real\n');
  });
});

test('a delta entry is made whole only from an entry of .pipe/compiled whose digest it names', async () => {
  const p = project(PIPELINE);
  ok(await p.run());
  const [file] = compiledFiles(p);
  const text = readFileSync(file!, 'utf8');
  const full = JSON.parse(text.slice(text.indexOf('\n') + 1)) as { pipeline: Record<string, unknown> };
  // a base outside the folder, holding a fake command under a matching digest of its own
  const fake = withDigest(JSON.stringify(full).replace('echo real', 'echo fake'));
  p.write('fake.json', fake);
  const digest = fake.slice(0, fake.indexOf('\n'));
  for (const base of ['../../fake.json', '/' + p.path('fake.json').replace(/^\//, ''), 'missing.json']) {
    const delta = { ...full, graph: undefined, pipeline: { ...full.pipeline, stages: undefined }, delta: { base, digest, stages: [], moved: [] } };
    writeFileSync(file!, withDigest(JSON.stringify(delta)).replace('\n', ` ${base}\n`));
    expect(statuses(ok(await p.run('--force')))).toEqual({ a: 'ran' });
    expect(p.read('a.txt')).toBe('real\n');
  }
});
