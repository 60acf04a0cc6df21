/**
 * Proof of offline readiness (issue 4 item 6): under `--no-network` (or `network: false`) a stage that tries
 * to reach the hub fails loudly, while fetch stages still reach it and stages that need no network pass.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubServer, type HubServer } from './fixtures/hub-server.js';
import { expectExit, makeProject, ok, stageEvents, type TestProject } from './helpers/pipe-project.js';

const canUnshare = spawnSync('unshare', ['--net', '--', 'true']).status === 0;

describe.skipIf(!canUnshare)('--no-network', () => {
  let hub: HubServer;
  let project: TestProject;
  let commit: string;

  beforeAll(async () => {
    hub = await startHubServer({ repos: [{ id: 'acme/tiny', files: [{ path: 'config.json', size: 64 }, { path: 'model.bin', size: 4096, lfs: true }] }] });
    commit = hub.repo('acme/tiny').refs.get('main')!;
    // the "hidden download": a stage that fetches from the hub behind pipe's back
    const download = `fetch(process.env.HUB + '/api/models/acme/tiny/revision/main').then((r) => require('fs').writeFileSync('downloaded.json', String(r.status)), (e) => { console.error('download failed: ' + e.cause?.code); process.exit(3); })`;
    project = makeProject(`version: 1
stages:
  cache:tiny:
    fetch: {hf: acme/tiny, revision: ${commit}}
  sneaky:
    cmd: [node, -e, "${download.replace(/"/g, '\\"')}"]
    outs: [downloaded.json]
  honest:
    cmd: [sh, -c, "echo local work > local.txt"]
    outs: [local.txt]
    needs: [cache:tiny]
  isolated:
    network: false
    cmd: [node, -e, "${download.replace(/"/g, '\\"')}"]
    outs: [isolated.json]
`);
  });

  afterAll(async () => {
    await hub.close();
    project.remove();
  });

  const env = () => ({ HUB: hub.url, HF_ENDPOINT: hub.url });

  test('a stage reaching the network fails with a clear message; fetch stages and local stages pass', async () => {
    const r = expectExit(await project.pipe(['run', '--no-network', '-k', 'sneaky', 'honest'], { env: env() }), 1);
    const events = stageEvents(r);
    expect(events['cache:tiny']?.status).toBe('ran');
    expect(events.honest?.status).toBe('ran');
    expect(events.sneaky?.status).toBe('failed');
    expect(events.sneaky?.reason).toMatch(/without network access/);
    expect(events.sneaky?.tail?.join('\n')).toMatch(/download failed/);
    expect(project.exists('downloaded.json')).toBe(false);
  });

  test('without --no-network the same stage reaches the hub (so the failure above is the isolation)', async () => {
    ok(await project.pipe(['run', 'sneaky'], { env: env() }));
    expect(project.read('downloaded.json')).toBe('200');
  });

  test('`network: false` on a stage isolates it in an ordinary run', async () => {
    const r = await project.pipe(['run', 'isolated'], { env: env() });
    expectExit(r, 1);
    expect(stageEvents(r).isolated?.reason).toMatch(/without network access/);
  });
});
