/**
 * Paths and commands: nothing escapes the project root, whether by `..`, an absolute path, a symlink, an
 * interpolated value or a foreach item; `clean` and `gc` delete only declared outputs and `.pipe/`; values
 * interpolated into a command stay one word.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { listFiles, ndjson, pipeSync, removeProject, stackLines, tempProject } from './helpers.js';

const projects: string[] = [];
afterAll(() => projects.forEach(removeProject));

/** A project and, next to it, an "outside" folder holding a file that must survive everything. */
function setup(pipeline: string, files: Record<string, string> = {}): { dir: string; outside: string } {
  const outside = tempProject('outside', { 'precious.txt': 'do not touch\n' });
  const dir = tempProject('paths', { 'pipeline.yaml': pipeline, ...files });
  projects.push(dir, outside);
  return { dir, outside };
}

function outsideIntact(outside: string): void {
  expect(readdirSync(outside).sort()).toEqual(['precious.txt']);
  expect(readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('do not touch\n');
}

describe('symlinks that lead out of the project', () => {
  test('an output folder that is a symlink to outside: the stage is refused, nothing is written there', () => {
    const { dir, outside } = setup('version: 1\nstages:\n  a:\n    cmd: "echo hi > out/x.txt"\n    outs: [out/x.txt]\n');
    symlinkSync(outside, path.join(dir, 'out'));
    const r = pipeSync(dir, ['run', '--json']);
    expect(r.code).toBe(1);
    const event = ndjson(r.stdout).find((e) => e.type === 'stage' && e.stage === 'a');
    expect(event).toMatchObject({ status: 'failed', reason: expect.stringContaining("'out/x.txt' leads outside the project through a symlink") });
    outsideIntact(outside);
  });

  test('a restore from the cache never writes through a symlink placed after the run', () => {
    const { dir, outside } = setup('version: 1\nstages:\n  a:\n    cmd: "mkdir -p out && echo hi > out/x.txt"\n    outs: [out/x.txt]\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    expect(pipeSync(dir, ['clean', '-q']).code).toBe(0);
    removeProject(path.join(dir, 'out'));
    symlinkSync(outside, path.join(dir, 'out'));
    const r = pipeSync(dir, ['run', '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain('leads outside the project through a symlink');
    outsideIntact(outside);
  });

  test('clean does not delete through a symlinked output folder', () => {
    const { dir, outside } = setup('version: 1\nstages:\n  a:\n    cmd: "mkdir -p out && echo hi > out/precious.txt"\n    outs: [out/precious.txt]\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    removeProject(path.join(dir, 'out'));
    symlinkSync(outside, path.join(dir, 'out'));
    const r = pipeSync(dir, ['clean']);
    expect(r.stderr).toContain("not removing 'out/precious.txt'");
    outsideIntact(outside);
  });

  test('a dep that is a symlink to a file outside is refused', () => {
    const { dir, outside } = setup('version: 1\nstages:\n  a:\n    cmd: "cat in.txt > copy.txt"\n    deps: [in.txt]\n    outs: [copy.txt]\n');
    symlinkSync(path.join(outside, 'precious.txt'), path.join(dir, 'in.txt'));
    const r = pipeSync(dir, ['run', '--json']);
    expect(r.code).toBe(1);
    expect(ndjson(r.stdout).find((e) => e.stage === 'a' && e.type === 'stage')).toMatchObject({ status: 'failed', reason: expect.stringContaining("'in.txt' leads outside") });
    expect(existsSync(path.join(dir, 'copy.txt'))).toBe(false);
  });

  test('a dangling symlink output pointing outside is refused (writing would create the file out there)', () => {
    const { dir, outside } = setup('version: 1\nstages:\n  a:\n    cmd: "echo hi > new.txt"\n    outs: [new.txt]\n');
    symlinkSync(path.join(outside, 'new.txt'), path.join(dir, 'new.txt'));
    expect(pipeSync(dir, ['run', '-q']).code).toBe(1);
    outsideIntact(outside);
  });

  test('symlinks that stay inside the project are fine', () => {
    const { dir } = setup('version: 1\nstages:\n  a:\n    cmd: "cat link/in.txt > out.txt"\n    deps: [link/in.txt]\n    outs: [out.txt]\n', { 'real/in.txt': 'inside\n' });
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const r = pipeSync(dir, ['run', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('inside\n');
  });
});

describe('interpolated values never become shell syntax', () => {
  const hostile = ['a.mp4; touch pwned', '$(touch pwned)', '`touch pwned`', "it's; touch pwned", 'x\ntouch pwned', '"; touch pwned; echo "', '&& touch pwned', '| touch pwned', '> pwned', '$HOME $((1+1))', '*'];

  test.each(hostile)('--set media=%j is one argument', (value) => {
    const { dir } = setup('version: 1\nvars:\n  media: demo.mp4\nstages:\n  a:\n    cmd: printf "%s" ${media} > out.txt\n    outs: [out.txt]\n');
    const r = pipeSync(dir, ['run', '-q', '--set', `media=${value}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe(value);
  });

  test('a foreach item with shell syntax in its file name is one argument, and its job name is a safe slug', () => {
    const name = 'in/a; touch pwned $(id).txt';
    const { dir } = setup('version: 1\nvars:\n  files: "in/*.txt"\nstages:\n  copy:\n    foreach: files\n    cmd: cat ${item} > out/${job}.txt\n    deps: ["${item}"]\n    outs: ["out/${job}.txt"]\n', { [name]: 'content\n' });
    mkdirSync(path.join(dir, 'out'));
    const r = pipeSync(dir, ['run', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    const outs = listFiles(path.join(dir, 'out'));
    expect(outs).toHaveLength(1);
    expect(outs[0]).toMatch(/^a-touch-pwned-id-[0-9a-f]{8}\.txt$/);
  });
});

describe('malicious names and values cannot write outside the project', () => {
  test.each([
    ['a foreach item with ..', 'version: 1\nvars:\n  items: ["../../evil"]\nstages:\n  s:\n    foreach: items\n    cmd: echo x\n    outs: ["out/${item}.txt"]\n'],
    ['a log path built from a var', 'version: 1\nvars:\n  where: ../..\nstages:\n  s:\n    cmd: echo x\n    log: "${where}/evil.log"\n'],
    ['an output from --set-able var', 'version: 1\nvars:\n  dest: /tmp\nstages:\n  s:\n    cmd: echo x\n    outs: ["${dest}/evil.txt"]\n'],
    ['a cache root outside', 'version: 1\ncache:\n  torch_home: ../torch\nstages:\n  s:\n    cmd: echo x\n'],
  ])('%s is refused with exit 2', (_label, pipeline) => {
    const { dir, outside } = setup(pipeline);
    const r = pipeSync(dir, ['run', '-q']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+: .*outside the project root/);
    expect(stackLines(r.stderr)).toEqual([]);
    outsideIntact(outside);
  });

  test('--set cannot move an output outside the root', () => {
    const { dir } = setup('version: 1\nvars:\n  dest: out\nstages:\n  s:\n    cmd: "mkdir -p ${dest} && echo x > ${dest}/f.txt"\n    outs: ["${dest}/f.txt"]\n');
    const r = pipeSync(dir, ['run', '-q', '--set', 'dest=../escaped']);
    expect(r.code).toBe(2);
    expect(existsSync(path.join(dir, '../escaped'))).toBe(false);
  });

  test('stage names cannot carry path separators (the log lives at .pipe/logs/NAME.log)', () => {
    const { dir } = setup('version: 1\nstages:\n  "../../../tmp/evil":\n    cmd: echo x\n');
    const r = pipeSync(dir, ['validate']);
    expect(r.code).toBe(2);
  });
});

describe('clean and gc delete only declared outputs and .pipe/', () => {
  test('clean removes the declared outputs and nothing else', () => {
    const { dir, outside } = setup('version: 1\nstages:\n  a:\n    cmd: "mkdir -p out && echo a > out/a.txt"\n    outs: [out/a.txt]\n', { 'out/mine.txt': 'user file\n', 'notes.txt': 'n\n' });
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    expect(pipeSync(dir, ['clean', '-q']).code).toBe(0);
    expect(listFiles(dir, (rel) => rel.startsWith('.pipe'))).toEqual(['notes.txt', 'out/mine.txt', 'pipeline.yaml']);
    outsideIntact(outside);
  });

  test('gc removes unreferenced objects only, never follows a symlink planted in the cache', () => {
    const { dir, outside } = setup('version: 1\nvars:\n  v: one\nstages:\n  a:\n    cmd: "echo ${v} > a.txt"\n    outs: [a.txt]\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    expect(pipeSync(dir, ['run', '-q', '--set', 'v=two']).code).toBe(0);
    const objects = path.join(dir, '.pipe/cache/objects');
    mkdirSync(path.join(objects, 'zz'), { recursive: true });
    symlinkSync(outside, path.join(objects, 'zz', 'planted'));
    const before = listFiles(dir, (rel) => rel.startsWith('.pipe'));
    const r = pipeSync(dir, ['gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed [1-9]\d* object/);
    expect(listFiles(dir, (rel) => rel.startsWith('.pipe'))).toEqual(before);
    outsideIntact(outside);
    expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('two\n');
    expect(pipeSync(dir, ['run', '-q', '--set', 'v=two']).code).toBe(0);
  });
});
