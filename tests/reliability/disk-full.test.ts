/**
 * A full (or read-only) disk under the project: the run says what could not be written and where, exits 1
 * without "internal error", and leaves a valid state (state.log intact, no half object under a final name),
 * so the next run on free space works. The project lives on a tiny tmpfs; the tests skip where mount is not
 * permitted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test, type TestContext } from 'vitest';
import { digestBytes } from '../../src/hash/digest.js';
import { corruptRecordLines, listFiles, ndjson, pipeSync, stackLines, tempFilesUnder, type CliResult } from './helpers.js';

const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts.splice(0)) {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An empty folder on a tmpfs of `size`, or undefined (the test is skipped) where mounting is not allowed. */
function tinyDisk(ctx: TestContext, size: string): string | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-rel-full-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.log(`disk-full test skipped: cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`);
    ctx.skip();
    return undefined;
  }
  mounts.push(dir);
  return dir;
}

function remount(dir: string, options: string): void {
  const r = spawnSync('mount', ['-o', `remount,${options}`, dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** Fills what is left of the disk with files outside pipe's reach, and returns a way to free it. */
function fillDisk(dir: string): () => void {
  const filler = path.join(dir, 'filler');
  mkdirSync(filler);
  const chunk = Buffer.alloc(4096, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(path.join(filler, String(i)), chunk);
    } catch {
      break;
    }
  }
  return () => rmSync(filler, { recursive: true, force: true });
}

function expectValidState(dir: string): void {
  expect(corruptRecordLines(dir)).toEqual([]);
  expect(tempFilesUnder(path.join(dir, '.pipe'))).toEqual([]);
  const objects = path.join(dir, '.pipe/cache/objects');
  for (const rel of listFiles(objects)) {
    const blob = path.join(objects, rel);
    expect(digestBytes(readFileSync(blob)), `object ${rel} holds what its name says`).toBe(rel.replace('/', ''));
  }
}

function stageOf(r: CliResult, name: string): Record<string, unknown> | undefined {
  return ndjson(r.stdout).find((e) => e.type === 'stage' && e.stage === name);
}

function clearMessage(r: CliResult, pattern: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stdout + r.stderr).toMatch(pattern);
  expect(stackLines(r.stdout + r.stderr)).toEqual([]);
  expect(r.stdout + r.stderr).not.toMatch(/internal error|please report/i);
}

describe('a full disk', () => {
  test('an output that cannot be stored: the stage fails naming the output and the cache; the next run on free space works', (ctx) => {
    const dir = tinyDisk(ctx, '1m');
    if (!dir) return;
    writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  big:\n    cmd: "mkdir -p jobs/x && head -c 700000 /dev/urandom > jobs/x/a.wav"\n    outs: [jobs/x/a.wav]\n');
    const r = pipeSync(dir, ['run', '--json']);
    clearMessage(r, /could not store output jobs\/x\/a\.wav in \.pipe\/cache: no space left on device \(ENOSPC\)/);
    expect(ndjson(r.stdout).find((e) => e.type === 'stage' && e.stage === 'big')).toMatchObject({ status: 'failed' });
    expectValidState(dir);

    remount(dir, 'size=4m');
    const again = pipeSync(dir, ['run', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(stageOf(again, 'big')?.status).toBe('ran');
    rmSync(path.join(dir, 'jobs'), { recursive: true });
    const restored = pipeSync(dir, ['run', '--json']);
    expect(stageOf(restored, 'big')?.status).toBe('restored');
    expect(statSync(path.join(dir, 'jobs/x/a.wav')).size).toBe(700000);
    expectValidState(dir);
  });

  test('stages that all succeed but fill the disk: the state that cannot be saved is named, exit 1, state valid', (ctx) => {
    const dir = tinyDisk(ctx, '2m');
    if (!dir) return;
    writeFileSync(path.join(dir, 'in.txt'), 'input\n');
    const first = 'version: 1\nvars:\n  v: one\nstages:\n  a:\n    cmd: "cat in.txt > a.txt && echo ${v} >> a.txt"\n    deps: [in.txt]\n    outs: [a.txt]\n';
    writeFileSync(path.join(dir, 'pipeline.yaml'), first);
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    // new deps, older than the racy window, whose hashes the filling run must save once the disk is full: a stat
    // cache larger than the pages pipe frees itself after a stage (its scratch log), so saving it must fail
    mkdirSync(path.join(dir, 'notes'));
    const old = new Date(Date.now() - 60_000);
    for (let i = 0; i < 300; i++) {
      writeFileSync(path.join(dir, 'notes', `note-${i}.txt`), `${i}\n`);
      utimesSync(path.join(dir, 'notes', `note-${i}.txt`), old, old);
    }
    utimesSync(path.join(dir, 'notes'), old, old);
    // a stage that fills what is left of the disk (with files pipe does not store), then succeeds
    const fill = '  fill:\n    cmd: "mkdir -p filler; cat /dev/zero > filler/all 2>/dev/null; true"\n    deps: [a.txt, notes]\n';
    writeFileSync(path.join(dir, 'pipeline.yaml'), first + fill);
    const r = pipeSync(dir, ['run']);
    clearMessage(r, /pipe: .*could not (store|write|save) .*\.pipe\/[\w./-]+.*: no space left on device \(ENOSPC\)/);
    expectValidState(dir);

    rmSync(path.join(dir, 'filler'), { recursive: true });
    writeFileSync(path.join(dir, 'pipeline.yaml'), first);
    const again = pipeSync(dir, ['run', '--json', '--set', 'v=five']);
    expect(again.code, again.stderr).toBe(0);
    const fresh = pipeSync(dir, ['run', '--json', '--set', 'v=five']);
    expect(stageOf(fresh, 'a')?.status).toBe('skipped');
    expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('input\nfive\n');
    expectValidState(dir);
  });

  test('no room even for the lock: the lock is named, nothing is left behind', (ctx) => {
    const dir = tinyDisk(ctx, '1m');
    if (!dir) return;
    writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  a:\n    cmd: "echo hi > a.txt"\n    outs: [a.txt]\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    const free = fillDisk(dir);
    const r = pipeSync(dir, ['run', '--force']);
    clearMessage(r, /could not (take the project lock \.pipe\/lock|write \.pipe\/\S+): no space left on device \(ENOSPC\)/);
    expectValidState(dir);
    free();
    expect(pipeSync(dir, ['run', '--force']).code).toBe(0);
  });

  test('a read-only project folder: a clear message naming what could not be written, exit 1', (ctx) => {
    const dir = tinyDisk(ctx, '1m');
    if (!dir) return;
    writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  a:\n    cmd: "echo hi > a.txt"\n    outs: [a.txt]\n');
    expect(pipeSync(dir, ['run', '-q']).code).toBe(0);
    writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  a:\n    cmd: "echo hello > a.txt"\n    outs: [a.txt]\n');
    remount(dir, 'ro');
    try {
      const r = pipeSync(dir, ['run']);
      clearMessage(r, /could not (write|take the project lock) \.pipe\/\S+: read-only file system \(EROFS\)/);
    } finally {
      remount(dir, 'rw');
    }
    expect(existsSync(path.join(dir, '.pipe/state.log'))).toBe(true);
    expectValidState(dir);
    const again = pipeSync(dir, ['run', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(dir)).toContain('a.txt');
    expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('hello\n');
  });
});
