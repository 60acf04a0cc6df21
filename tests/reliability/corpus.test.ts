/**
 * Bad pipeline files: every file of corpus/ (and a few generated ones: a huge file, a file that is a folder)
 * makes `pipe validate` and `pipe run` exit 2 with a message naming the file and LINE:COL and containing the
 * fragment listed in corpus/expect.json; never a stack trace or an "internal error".
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, openSync, ftruncateSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { pipeSync, removeProject, stackLines, tempProject } from './helpers.js';

const CORPUS = path.join(import.meta.dirname, 'corpus');
const expected = JSON.parse(readFileSync(path.join(CORPUS, 'expect.json'), 'utf8')) as Record<string, string>;
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort();
const LOCATED = /pipeline\.yaml:\d+:\d+: /;

const dir = tempProject('corpus', { 'config/models.yaml': 'whisper: {hf: a/b}\n' });
const outside = tempProject('corpus-outside', { 'secret.yaml': 'token: x\n' });
afterAll(() => {
  removeProject(dir);
  removeProject(outside);
});

/** The special files the import-* entries name: never opened for reading (a FIFO would block, /dev/zero never ends). */
function makeSpecialFiles(root: string): void {
  mkdirSync(path.join(root, 'special'), { recursive: true });
  execFileSync('mkfifo', [path.join(root, 'special/fifo')]);
  symlinkSync('/dev/zero', path.join(root, 'special/zero'));
  symlinkSync(path.join(outside, 'secret.yaml'), path.join(root, 'special/outside.yaml'));
  symlinkSync('loop.yaml', path.join(root, 'special/loop.yaml'));
}
makeSpecialFiles(dir);

function check(args: string[], fragment: string, located = true): void {
  const r = pipeSync(dir, args);
  const output = r.stdout + r.stderr;
  expect(r.code, output).toBe(2);
  if (located) expect(r.stderr).toMatch(LOCATED);
  else expect(r.stderr).toContain('pipeline.yaml');
  expect(r.stderr).toContain(fragment);
  expect(stackLines(output)).toEqual([]);
}

describe('corpus of broken pipeline files', () => {
  test('has at least 40 files, each with an expected message', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(expected).filter((k) => k !== '//').sort()).toEqual(files.map((f) => f.replace(/\.yaml$/, '')));
  });

  // the YAML structure gives no line for these two: the parser stops before any node exists
  const unlocated = new Set(['deep-nesting-block', 'empty-file']);

  // `run` loads the file through the same code as `validate`: every 6th file goes through both, to keep the time
  test.each(files.map((f, i) => [f, i % 6 === 0] as const))('%s: exits 2 with a located message (run too: %s)', (file, alsoRun) => {
    const name = file.replace(/\.yaml$/, '');
    copyFileSync(path.join(CORPUS, file), path.join(dir, 'pipeline.yaml'));
    check(['validate'], expected[name]!, !unlocated.has(name));
    if (alsoRun) check(['run', '-q'], expected[name]!, !unlocated.has(name));
  });

  test('a file over the size limit is refused before it is parsed', () => {
    const file = path.join(dir, 'pipeline.yaml');
    const fd = openSync(file, 'w');
    writeSync(fd, 'version: 1\nstages: {}\n# ');
    ftruncateSync(fd, 65 * 1024 * 1024); // sparse: no 65 MB written
    closeSync(fd);
    check(['validate'], 'the limit is', false);
  });

  test('a huge but legal file (100k stages list) is validated, not choked on', () => {
    const lines = ['version: 1', 'vars:', '  big:'];
    for (let i = 0; i < 100_000; i++) lines.push(`    - item-${i}`);
    lines.push('stages:', '  a:', '    cmd: echo ${missing}');
    writeFileSync(path.join(dir, 'pipeline.yaml'), lines.join('\n') + '\n');
    check(['validate'], "unknown var 'missing'");
  });

  // each is refused before it is read: a FIFO with no writer or /dev/zero would otherwise hang pipe
  test.each([
    ['a FIFO', 'fifo', 'is a FIFO'],
    ['a symlink to /dev/zero', 'zero', 'is a character device'],
    ['a symlink loop', 'loop', 'a symlink loop'],
  ])('a pipeline.yaml that is %s is a clear error, never opened for reading', (_what, kind, fragment) => {
    const sub = tempProject('corpus-special');
    const file = path.join(sub, 'pipeline.yaml');
    if (kind === 'fifo') execFileSync('mkfifo', [file]);
    else symlinkSync(kind === 'zero' ? '/dev/zero' : 'pipeline.yaml', file);
    for (const args of [['validate'], ['run'], ['status'], ['-f', 'pipeline.yaml', 'validate']]) {
      const r = pipeSync(sub, args, {}, 20_000);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`pipeline.yaml: ${fragment}`);
      expect(stackLines(r.stderr)).toEqual([]);
    }
    rmSync(sub, { recursive: true, force: true });
  });

  test('a pipeline.yaml that is a folder is an error, not a crash', () => {
    const sub = tempProject('corpus-folder');
    mkdirSync(path.join(sub, 'pipeline.yaml'));
    const r = pipeSync(sub, ['validate']);
    removeProject(sub);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline.yaml');
    expect(stackLines(r.stderr)).toEqual([]);
  });
});
