/**
 * Secrets: a token planted in HF_TOKEN and in config/hf-token never appears in anything pipe writes:
 * stdout, stderr (plain, --json, -v), .pipe/**, stage logs, `pipe env`, or the error of a 401/403 — not even
 * when a stage prints it (its output tail, NDJSON tail, log) or it is passed into a command with --set.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHubServer, type HubServer } from '../fixtures/hub-server.js';
import { listFiles, pipeAsync, removeProject, tempProject, type CliResult } from './helpers.js';

const ENV_TOKEN = 'hf_PLANTEDenvTOKEN7f3a9c';
const FILE_TOKEN = 'hf_PLANTEDfileTOKEN2b8e1d';
let hub: HubServer;
let dir: string;

beforeAll(async () => {
  hub = await startHubServer({ token: 'hf_the_right_one' });
  hub.addRepo({ id: 'acme/open', files: [{ path: 'config.json', size: 200 }, { path: 'w.bin', size: 5000, lfs: true }] });
  hub.addRepo({ id: 'acme/gated', files: [{ path: 'w.bin', size: 3000, lfs: true }], gated: true });
  dir = tempProject('secrets', {
    'config/hf-token': `${FILE_TOKEN}\n`,
    'pipeline.yaml': [
      'version: 1',
      'vars:',
      '  who: nobody',
      'env:',
      '  LOG_LEVEL: info',
      'stages:',
      '  cache:open:',
      '    fetch: {hf: acme/open, revision: main}',
      '  cache:gated:',
      '    fetch: {hf: acme/gated, revision: main}',
      '  use:',
      '    cmd: "ls .cache/huggingface/hub > out.txt; echo done"',
      '    needs: [cache:open]',
      '    outs: [out.txt]',
      '  broken:',
      '    cmd: "echo failing; exit 4"',
      '  leaky:',
      '    cmd: "echo token=$HF_TOKEN; echo hub=$HUGGING_FACE_HUB_TOKEN; cat config/hf-token; echo \\"quoted $HF_TOKEN\\" >&2; exit 3"',
      '  chatty:',
      '    cmd: "echo $HF_TOKEN; cat config/hf-token; echo ${who} | wc -c > who.txt"',
      '    outs: [who.txt]',
    ].join('\n') + '\n',
  });
});

afterAll(async () => {
  await hub.close();
  removeProject(dir);
});

async function pipe(args: string[], token: string | undefined = ENV_TOKEN): Promise<CliResult> {
  return pipeAsync(dir, args, { HF_ENDPOINT: hub.url, HF_TOKEN: token ?? '', PIPE_FETCH_RETRIES: '0', PIPE_FETCH_RETRY_BASE_MS: '1' }).done;
}

function leaks(text: string): string[] {
  return [ENV_TOKEN, FILE_TOKEN].filter((t) => text.includes(t) || text.includes(t.slice(3)));
}

describe('a planted token', () => {
  test('appears in no output, no state file, no log, no error', async () => {
    const outputs: Record<string, CliResult> = {
      'run use': await pipe(['run', 'use']),
      'run use --json': await pipe(['run', 'use', '--json', '--force']),
      'run cache:gated (403/401)': await pipe(['run', 'cache:gated', '-v']),
      'run cache:gated --json': await pipe(['run', 'cache:gated', '--json']),
      'run cache:gated, file token': await pipe(['run', 'cache:gated'], undefined),
      'run broken -v': await pipe(['run', 'broken', '-v']),
      'env': await pipe(['env']),
      'env use': await pipe(['env', 'use']),
      'env cache:open': await pipe(['env', 'cache:open']),
      'status --json': await pipe(['status', '--json']),
      'explain use': await pipe(['explain', 'use']),
      'graph json': await pipe(['graph', '--format', 'json', '--status']),
      'list': await pipe(['list']),
      'run --dry-run -v': await pipe(['run', '-n', '-v', '--force']),
      'run leaky (failing, prints the tokens)': await pipe(['run', 'leaky']),
      'run leaky --json': await pipe(['run', 'leaky', '--json']),
      'run leaky -v': await pipe(['run', 'leaky', '-v']),
      'run leaky, HUGGING_FACE_HUB_TOKEN': await pipeAsync(dir, ['run', 'leaky', '--json'], { HUGGING_FACE_HUB_TOKEN: ENV_TOKEN, HF_TOKEN: '' }).done,
      'run chatty --set who=TOKEN': await pipe(['run', 'chatty', '--set', `who=${ENV_TOKEN}`]),
      'status --set who=TOKEN': await pipe(['status', '--json', '--set', `who=${ENV_TOKEN}`]),
      'explain chatty --set who=TOKEN': await pipe(['explain', 'chatty', '--set', `who=${ENV_TOKEN}`]),
    };
    const leakyJson = outputs['run leaky --json']!;
    expect(leakyJson.code, leakyJson.stderr).toBe(1);
    const failed = leakyJson.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'stage' && e.stage === 'leaky');
    expect(failed.tail).toEqual(expect.arrayContaining(['token=***', '***', 'quoted ***'])); // the tail is there, masked
    expect(outputs['run leaky (failing, prints the tokens)'].stderr).toContain('token=***');
    expect(outputs['run chatty --set who=TOKEN'].code).toBe(0);
    expect(outputs['run use'].code, outputs['run use'].stderr).toBe(0);
    expect(outputs['run cache:gated (403/401)'].code).toBe(1);
    expect(hub.stats.requests.some((r) => r.auth === `Bearer ${ENV_TOKEN}`)).toBe(true); // it was really used
    for (const [name, r] of Object.entries(outputs)) {
      expect(leaks(r.stdout + r.stderr), name).toEqual([]);
    }
    const written = listFiles(dir).filter((f) => f !== 'config/hf-token');
    expect(written.some((f) => f.startsWith('.pipe/logs/'))).toBe(true);
    for (const file of written) {
      expect(leaks(readFileSync(path.join(dir, file), 'latin1')), file).toEqual([]);
    }
  });

  test('pipe env prints no secret-looking variable, even one a user put in the pipeline env', async () => {
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'sub/pipeline.yaml'), `version: 1\nenv:\n  SERVICE_API_KEY: ${ENV_TOKEN}\nstages:\n  a:\n    cmd: echo hi\n`);
    const r = await pipeAsync(path.join(dir, 'sub'), ['env', 'a'], { HF_TOKEN: ENV_TOKEN }).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('HF_HOME=');
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
  });
});
