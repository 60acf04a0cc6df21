/**
 * Damaged objects and planted links in .pipe/cache: a blob whose bytes changed, a truncated one, a corrupt or
 * hostile folder listing, a symlink where an object or a folder of the store should be. None is ever restored
 * as an output (the stage runs instead, and says why), `--force` repairs a damaged object, and no command
 * reads, writes or deletes through a link that leaves the project.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { digestBytes } from '../../src/hash/digest.js';
import { treeDigest } from '../../src/hash/tree-digest.js';
import type { TreeEntry } from '../../src/hash/types.js';
import { corruptRecordLines, ndjson, pipeSync, removeProject, stackLines, tempProject, type CliResult } from './helpers.js';

const projects: string[] = [];
afterAll(() => projects.forEach(removeProject));

/** a writes a file whose content depends on var v; b copies it with a suffix; c keeps a folder. */
const PIPELINE = `version: 1
vars:
  v: one
stages:
  a:
    cmd: printf 'payload-%s-%s' \${v} \${v} > a.txt
    outs: [a.txt]
  b:
    cmd: "cat a.txt > b.txt && echo +b >> b.txt"
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: "mkdir -p out/sub && printf 'x-%s' \${v} > out/x.txt && printf 'y-%s' \${v} > out/sub/y.txt"
    outs: [out]
`;

const contentOfA = (v: string) => `payload-${v}-${v}`;

function setup(): { dir: string; outside: string } {
  const outside = tempProject('outside', { 'precious.txt': 'do not touch\n' });
  const dir = tempProject('corrupt', { 'pipeline.yaml': PIPELINE });
  projects.push(dir, outside);
  return { dir, outside };
}

function outsideIntact(outside: string): void {
  expect(readdirSync(outside).sort()).toEqual(['precious.txt']);
  expect(readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('do not touch\n');
}

function blobOf(dir: string, content: string): string {
  const hash = digestBytes(content);
  return path.join(dir, '.pipe/cache/objects', hash.slice(0, 2), hash.slice(2));
}

function overwrite(file: string, content: string | Buffer): void {
  chmodSync(file, 0o644);
  writeFileSync(file, content);
}

function run(dir: string, args: string[]): CliResult {
  const r = pipeSync(dir, ['run', '--json', ...args]);
  expect(stackLines(r.stdout + r.stderr)).toEqual([]);
  return r;
}

function stage(r: CliResult, name: string): Record<string, unknown> | undefined {
  return ndjson(r.stdout).find((e) => e.type === 'stage' && e.stage === name);
}

/** Runs v=one then v=two, so going back to v=one restores from the run-cache. */
function twoVersions(dir: string): void {
  expect(run(dir, []).code).toBe(0);
  expect(run(dir, ['--set', 'v=two']).code).toBe(0);
}

function expectCorrectOutputs(dir: string, v: string): void {
  expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe(contentOfA(v));
  expect(readFileSync(path.join(dir, 'b.txt'), 'utf8')).toBe(`${contentOfA(v)}+b\n`);
  expect(readFileSync(path.join(dir, 'out/x.txt'), 'utf8')).toBe(`x-${v}`);
  expect(readFileSync(path.join(dir, 'out/sub/y.txt'), 'utf8')).toBe(`y-${v}`);
}

describe('a damaged blob is never restored', () => {
  const damages: [string, (s: string) => string | Buffer][] = [
    ['altered, same length', (s) => s.replace('payload', 'PAYLOAD')],
    ['truncated', (s) => s.slice(0, 5)],
    ['emptied', () => ''],
    ['grown', (s) => s + ' and more'],
    ['one bit flipped', (s) => { const b = Buffer.from(s); b.writeUInt8(b.readUInt8(3) ^ 1, 3); return b; }],
  ];

  test.each(damages)('%s: the stage runs instead, says so, and its output and what is downstream are right', (_label, damage) => {
    const { dir } = setup();
    twoVersions(dir);
    const blob = blobOf(dir, contentOfA('one'));
    overwrite(blob, damage(contentOfA('one')));

    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'a')).toMatchObject({ status: 'ran', reason: expect.stringMatching(/cached output a\.txt is damaged/) });
    expect(stage(r, 'b')?.status).toMatch(/^(ran|restored)$/);
    expectCorrectOutputs(dir, 'one');
    expect(readFileSync(blob, 'utf8')).toBe(contentOfA('one')); // the rerun stored it again
    expect(lstatSync(blob).mode & 0o777).toBe(0o444);

    const again = run(dir, []);
    expect(ndjson(again.stdout).filter((e) => e.type === 'stage').map((e) => e.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(corruptRecordLines(dir)).toEqual([]);
  });

  test('a damaged blob inside a folder output: the folder is rebuilt by running its stage', () => {
    const { dir } = setup();
    twoVersions(dir);
    overwrite(blobOf(dir, 'y-one'), 'Y-one');
    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'c')).toMatchObject({ status: 'ran', reason: expect.stringContaining('cached output out is damaged') });
    expect(stage(r, 'c')?.reason).toContain('sub/y.txt');
    expectCorrectOutputs(dir, 'one');
  });

  test('a deleted output whose blob was altered is not restored from it', () => {
    const { dir } = setup();
    expect(run(dir, []).code).toBe(0);
    overwrite(blobOf(dir, contentOfA('one')), contentOfA('one').toUpperCase());
    rmSync(path.join(dir, 'a.txt'));
    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'a')?.status).toBe('ran');
    expect(r.stderr).toMatch(/a: cached output a\.txt is damaged .*dropped it/);
    expectCorrectOutputs(dir, 'one');
  });

  test('--force repairs a damaged blob whose name exists', () => {
    const { dir } = setup();
    expect(run(dir, []).code).toBe(0);
    const blob = blobOf(dir, contentOfA('one'));
    overwrite(blob, contentOfA('one').replace('one', 'ONE'));
    expect(run(dir, ['--force']).code).toBe(0);
    expect(readFileSync(blob, 'utf8')).toBe(contentOfA('one'));
    rmSync(path.join(dir, 'a.txt'));
    const r = run(dir, []);
    expect(stage(r, 'a')?.status).toBe('restored');
    expectCorrectOutputs(dir, 'one');
  });

  test('a verified object is remembered by its stat (.pipe/cache/verified), not read again on every restore', () => {
    const { dir } = setup();
    expect(run(dir, []).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      rmSync(path.join(dir, 'a.txt'));
      expect(stage(run(dir, []), 'a')?.status).toBe('restored');
    }
    const verified = readFileSync(path.join(dir, '.pipe/cache/verified'), 'utf8');
    expect(verified).toContain(blobOf(dir, contentOfA('one')));
    expectCorrectOutputs(dir, 'one');
  });
});

describe('a damaged or hostile folder listing (tree) is never used', () => {
  function treeFile(dir: string, hash: string): string {
    return path.join(dir, '.pipe/cache/trees', `${hash}.json`);
  }

  /** The hash v=one's run-cache entry records for out/. */
  function recordedTree(dir: string): string {
    const lines = readFileSync(path.join(dir, '.pipe/run-cache.log'), 'utf8').split('\n').filter(Boolean);
    const runs = lines.map((l) => JSON.parse(l.slice(9)) as { r?: { outs: { path: string; hash: string }[] } }).flatMap((l) => (l.r ? [l.r] : []));
    return runs.flatMap((r) => r.outs).find((o) => o.path === 'out')!.hash;
  }

  /** Points every record and run-cache entry of tree `from` at tree `to` (rewriting the checksums), as a tampered state would. */
  function repointTree(dir: string, from: string, to: string): void {
    for (const log of ['state.log', 'run-cache.log']) repointIn(path.join(dir, '.pipe', log), from, to);
  }

  function repointIn(file: string, from: string, to: string): void {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
      const json = l.slice(9).split(from).join(to);
      return `${crc32(json).toString(16).padStart(8, '0')} ${json}`;
    });
    writeFileSync(file, lines.join('\n') + '\n');
  }

  test('corrupt JSON: the stage runs, the listing is stored again', () => {
    const { dir } = setup();
    twoVersions(dir);
    const tree = recordedTree(dir); // the first record: v=one
    overwrite(treeFile(dir, tree), '[{"path": "x.txt", "ha');
    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'c')).toMatchObject({ status: 'ran', reason: expect.stringContaining('is not valid JSON') });
    expectCorrectOutputs(dir, 'one');
    expect(JSON.parse(readFileSync(treeFile(dir, tree), 'utf8'))).toHaveLength(2);
  });

  test('entries that do not match its hash (another blob swapped in): the stage runs', () => {
    const { dir } = setup();
    twoVersions(dir);
    const tree = recordedTree(dir);
    const entries = JSON.parse(readFileSync(treeFile(dir, tree), 'utf8')) as TreeEntry[];
    entries[0]!.hash = digestBytes('x-two');
    overwrite(treeFile(dir, tree), JSON.stringify(entries));
    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'c')).toMatchObject({ status: 'ran', reason: expect.stringContaining('does not match its hash') });
    expectCorrectOutputs(dir, 'one');
  });

  const hostile: [string, (outside: string) => string][] = [
    ['../x', () => '../x'],
    ['../../escaped.txt', () => '../../escaped.txt'],
    ['sub/../../x', () => 'sub/../../x'],
    ['an absolute path', (outside) => path.join(outside, 'evil.txt')],
    ['an empty segment', () => 'sub//y.txt'],
    ['a . segment', () => './x.txt'],
    ['an empty path', () => ''],
  ];

  test.each(hostile)('an entry %s, even with a matching digest, is never written; the stage runs', (_label, entryPath) => {
    const { dir, outside } = setup();
    twoVersions(dir);
    const tree = recordedTree(dir);
    const good = JSON.parse(readFileSync(treeFile(dir, tree), 'utf8')) as TreeEntry[];
    const evil = [...good, { path: entryPath(outside), hash: good[0]!.hash, size: good[0]!.size, exec: false }].sort((a, b) => (a.path < b.path ? -1 : 1));
    const evilHash = treeDigest(evil);
    writeFileSync(treeFile(dir, evilHash), JSON.stringify(evil));
    repointTree(dir, tree, evilHash);

    // beside the project, in the shared temp folder: compare with what was there before (a leftover of another run)
    const escaped = path.join(path.dirname(dir), 'escaped.txt');
    const escapedBefore = statSync(escaped, { throwIfNoEntry: false })?.mtimeMs;
    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'c')).toMatchObject({ status: 'ran', reason: expect.stringContaining('cached output out') });
    outsideIntact(outside);
    expect(readdirSync(dir).sort()).toEqual(['.pipe', 'a.txt', 'b.txt', 'out', 'pipeline.yaml']);
    expect(statSync(escaped, { throwIfNoEntry: false })?.mtimeMs).toBe(escapedBefore);
    expectCorrectOutputs(dir, 'one');
    expect(existsSync(treeFile(dir, evilHash))).toBe(false); // dropped
  });
});

describe('links planted in .pipe/cache are never followed', () => {
  test('a blob that is a symlink to a file outside is not read, and a put replaces such a link, never writes through it', () => {
    const { dir, outside } = setup();
    twoVersions(dir);
    const blob = blobOf(dir, contentOfA('one'));
    rmSync(blob);
    symlinkSync(path.join(outside, 'precious.txt'), blob);
    const r = run(dir, []);
    expect(r.code, r.stderr).toBe(0);
    expect(stage(r, 'a')).toMatchObject({ status: 'ran', reason: expect.stringContaining('symlink') });
    expectCorrectOutputs(dir, 'one');
    expect(lstatSync(blob).isFile()).toBe(true);
    outsideIntact(outside);

    mkdirSync(path.dirname(blobOf(dir, contentOfA('three'))), { recursive: true });
    symlinkSync(path.join(outside, 'precious.txt'), blobOf(dir, contentOfA('three')));
    expect(run(dir, ['--set', 'v=three']).code).toBe(0);
    expect(lstatSync(blobOf(dir, contentOfA('three'))).isFile()).toBe(true);
    outsideIntact(outside);
  });

  const folders: [string, (dir: string) => string][] = [
    ['a fan-out folder', (dir) => path.dirname(blobOf(dir, contentOfA('one')))],
    ['objects/', (dir) => path.join(dir, '.pipe/cache/objects')],
    ['trees/', (dir) => path.join(dir, '.pipe/cache/trees')],
    ['.pipe/cache itself', (dir) => path.join(dir, '.pipe/cache')],
  ];

  test.each(folders)('%s linked to a folder outside: a run writes nothing out there and restores nothing from it', (_label, where) => {
    const { dir, outside } = setup();
    mkdirSync(path.dirname(where(dir)), { recursive: true });
    symlinkSync(outside, where(dir));
    expect(run(dir, []).code).toBe(0);
    outsideIntact(outside);
    expect(lstatSync(where(dir)).isDirectory()).toBe(true); // the link was replaced by a real folder
    rmSync(path.join(dir, 'a.txt'));
    rmSync(path.join(dir, 'out'), { recursive: true });
    const r = run(dir, []);
    expect(stage(r, 'a')?.status).toBe('restored');
    expect(stage(r, 'c')?.status).toBe('restored');
    expectCorrectOutputs(dir, 'one');
    outsideIntact(outside);
  });

  const planted: [string, (dir: string) => string, 'dir' | 'file'][] = [
    ['a fan-out folder', (dir) => path.join(dir, '.pipe/cache/objects/zz'), 'dir'],
    ['a blob name', (dir) => path.join(dir, '.pipe/cache/objects/zz/0123456789abcdef0123456789abcd'), 'file'],
    ['a live blob name', (dir) => blobOf(dir, contentOfA('one')), 'file'],
    ['objects/', (dir) => path.join(dir, '.pipe/cache/objects'), 'dir'],
    ['trees/', (dir) => path.join(dir, '.pipe/cache/trees'), 'dir'],
    ['a tree name', (dir) => path.join(dir, '.pipe/cache/trees/0123456789abcdef0123456789abcdef.json'), 'file'],
    ['.pipe/cache itself', (dir) => path.join(dir, '.pipe/cache'), 'dir'],
  ];

  test.each(planted)('gc with %s linked outside deletes nothing out there; the next run works', (_label, where, kind) => {
    const { dir, outside } = setup();
    twoVersions(dir);
    const link = where(dir);
    rmSync(link, { recursive: true, force: true });
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(kind === 'dir' ? outside : path.join(outside, 'precious.txt'), link);
    const r = pipeSync(dir, ['gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(stackLines(r.stdout + r.stderr)).toEqual([]);
    outsideIntact(outside);
    const after = run(dir, ['--set', 'v=two']);
    expect(after.code, after.stderr).toBe(0);
    expectCorrectOutputs(dir, 'two');
    outsideIntact(outside);
  });
});

describe('clean removes a link, never its target', () => {
  test.each(['file', 'folder'])('an output that is a symlink to a %s outside: the link goes, the target stays', (kind) => {
    const { dir, outside } = setup();
    expect(run(dir, []).code).toBe(0);
    const out = kind === 'file' ? 'a.txt' : 'out';
    rmSync(path.join(dir, out), { recursive: true });
    symlinkSync(kind === 'file' ? path.join(outside, 'precious.txt') : outside, path.join(dir, out));
    const r = pipeSync(dir, ['clean']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, out)) || isLink(path.join(dir, out))).toBe(false);
    outsideIntact(outside);
  });
});

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
