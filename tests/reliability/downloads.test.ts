/**
 * Downloads: a truncated, corrupted or oversized file is never recorded as cached (the stage fails, a rerun
 * downloads again, and nothing half-written sits under the final name); a full disk (a 2 MB tmpfs) gives a
 * clear error and leaves the cache valid.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubServer, type HubServer } from '../fixtures/hub-server.js';
import { listFiles, ndjson, pipeAsync, removeProject, stackLines, tempProject, type CliResult } from './helpers.js';

const GOOD = Buffer.alloc(300_000, 7);
const SHA = createHash('sha256').update(GOOD).digest('hex');
type Mode = 'ok' | 'truncated' | 'corrupted' | 'oversized';
let mode: Mode = 'ok';
let server: http.Server;
let url: string;
let hub: HubServer;
const projects: string[] = [];

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    if (mode === 'truncated') {
      res.writeHead(200, { 'content-length': GOOD.length });
      res.write(GOOD.subarray(0, 1000));
      setTimeout(() => res.destroy(), 10);
      return;
    }
    const body = mode === 'corrupted' ? Buffer.concat([GOOD.subarray(0, -1), Buffer.from([8])])
      : mode === 'oversized' ? Buffer.concat([GOOD, Buffer.alloc(50_000, 1)]) : GOOD;
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.bin`;
  hub = await startHubServer();
  hub.addRepo({ id: 'acme/big', files: [{ path: 'config.json', size: 100 }, { path: 'weights.bin', size: 3 * 1024 * 1024, lfs: true }] });
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await hub.close();
  projects.forEach(removeProject);
});

function project(): string {
  const dir = tempProject('dl', {
    'pipeline.yaml': [
      'version: 1',
      'stages:',
      '  cache:file:',
      `    fetch: {url: "${url}", sha256: ${SHA}, to: models/model.bin}`,
      '  cache:big:',
      '    fetch: {hf: acme/big, revision: main}',
    ].join('\n') + '\n',
  });
  projects.push(dir);
  return dir;
}

async function pipe(dir: string, args: string[]): Promise<CliResult> {
  return pipeAsync(dir, args, { HF_ENDPOINT: hub.url, HF_TOKEN: '', PIPE_FETCH_RETRIES: '1', PIPE_FETCH_RETRY_BASE_MS: '1' }).done;
}

function stageEvent(r: CliResult, stage: string): Record<string, unknown> | undefined {
  return ndjson(r.stdout).find((e) => e.type === 'stage' && e.stage === stage);
}

describe('a bad download is never recorded as cached', () => {
  test.each(['truncated', 'corrupted', 'oversized'] as const)('%s file: the stage fails, nothing under the final name, the rerun downloads it', async (bad) => {
    const dir = project();
    mode = bad;
    const r = await pipe(dir, ['run', 'cache:file', '--json']);
    expect(r.code).toBe(1);
    expect(stageEvent(r, 'cache:file')).toMatchObject({ status: 'failed' });
    expect(stackLines(r.stdout + r.stderr)).toEqual([]);
    expect(existsSync(path.join(dir, 'models/model.bin'))).toBe(false);
    const status = JSON.parse((await pipe(dir, ['status', '--json'])).stdout) as { stages: { name: string; state: string }[] };
    expect(status.stages.find((s) => s.name === 'cache:file')?.state).not.toBe('fresh');
    mode = 'ok';
    const again = await pipe(dir, ['run', 'cache:file', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(stageEvent(again, 'cache:file')).toMatchObject({ status: 'ran' });
    expect(existsSync(path.join(dir, 'models/model.bin'))).toBe(true);
  });
});

describe('a full disk', () => {
  test('gives a clear error and leaves the cache valid (2 MB tmpfs under the model cache)', async (ctx) => {
    const dir = project();
    const cache = path.join(dir, '.cache/huggingface');
    mkdirSync(cache, { recursive: true });
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', cache], { encoding: 'utf8' });
    if (mount.status !== 0) {
      console.log(`full-disk test skipped: cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`);
      ctx.skip();
      return;
    }
    try {
      const r = await pipe(dir, ['run', 'cache:big', '--json']);
      expect(r.code).toBe(1);
      const event = stageEvent(r, 'cache:big');
      expect(event).toMatchObject({ status: 'failed', reason: expect.stringMatching(/ENOSPC|no space/i) });
      expect(stackLines(r.stdout + r.stderr)).toEqual([]);
      const status = JSON.parse((await pipe(dir, ['status', '--json'])).stdout) as { stages: { name: string; state: string }[] };
      expect(status.stages.find((s) => s.name === 'cache:big')?.state).not.toBe('fresh');
      // no file under snapshots/ that would pass for a complete model
      expect(listFiles(cache).filter((f) => f.includes('/snapshots/') && f.endsWith('weights.bin'))).toEqual([]);
    } finally {
      spawnSync('umount', [cache]);
    }
    const again = await pipe(dir, ['run', 'cache:big', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(stageEvent(again, 'cache:big')).toMatchObject({ status: 'ran' });
    const rerun = await pipe(dir, ['run', 'cache:big', '--json']);
    expect(stageEvent(rerun, 'cache:big')).toMatchObject({ status: 'skipped' });
  });
});
