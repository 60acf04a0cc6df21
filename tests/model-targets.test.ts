// The model targets of the real pipeline.yaml (cache:FAMILY, cache:PROFILE, cache:all), derived from
// config/models.yaml, and its apt pool, through the CLI in a temporary copy: dry runs only, no network.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, test } from 'vitest';
import { ok, REPO_ROOT, stageEvents, TestProject } from './helpers/pipe-project.js';

const manifest = parse(readFileSync(path.join(REPO_ROOT, 'config/models.yaml'), 'utf8')) as Record<string, { family: string; profiles: string[] }>;
const cacheStagesWhere = (keep: (entry: { family: string; profiles: string[] }) => boolean) =>
  Object.entries(manifest).filter(([, entry]) => keep(entry)).map(([key]) => `cache:${key}`).sort();

function copyOfTheProject(): TestProject {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-models-'));
  for (const entry of ['pipeline.yaml', 'config', 'stages']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), {
      recursive: true,
      filter: (src) => !/config\/(hardware|tools|apertium)\.json$/.test(src) && !src.includes('__pycache__'),
    });
  }
  return new TestProject(dir);
}

const project = copyOfTheProject();
afterAll(() => project.remove());
// a fetch stage decides from the disk; should anything try the network, it finds nothing listening
const NO_NETWORK = { HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '1' };

async function planned(target: string): Promise<string[]> {
  const dry = ok(await project.pipe(['run', '-n', target], { env: NO_NETWORK }));
  for (const event of Object.values(stageEvents(dry))) expect(event.reason).toMatch(/^would run/);
  return Object.keys(stageEvents(dry)).sort();
}

describe.concurrent('pipe run cache:TARGET on the real pipeline (dry run)', () => {
  test('cache:indictrans2 plans exactly the three IndicTrans2 fetch stages', async () => {
    expect(await planned('cache:indictrans2')).toEqual([
      'cache:indictrans2-en-indic-1b', 'cache:indictrans2-indic-en-1b', 'cache:indictrans2-indic-indic-1b',
    ]);
    expect(project.exists('.cache')).toBe(false);
  }, 30_000);

  test.each(['whisperx', 'nllb', 'pyannote', 'demucs'])('cache:%s plans exactly the models of that family', async (family) => {
    const expected = cacheStagesWhere((e) => e.family === family);
    expect(expected.length).toBeGreaterThan(0);
    expect(await planned(`cache:${family}`)).toEqual(expected);
  }, 30_000);

  test('cache:cuda, cache:cpu and cache:mlx still plan each profile\'s models; cache:mlx holds the MLX Whisper family', async () => {
    const cudaAndCpu = ['cache:demucs-htdemucs', 'cache:faster-whisper-large-v3', 'cache:indictrans2-en-indic-1b', 'cache:indictrans2-indic-en-1b',
      'cache:indictrans2-indic-indic-1b', 'cache:nllb-200-distilled-600m', 'cache:pyannote-segmentation-3.0', 'cache:wav2vec2-align-en', 'cache:wav2vec2-align-hi'];
    expect(await planned('cache:cuda')).toEqual(cudaAndCpu);
    expect(await planned('cache:cpu')).toEqual(cudaAndCpu);
    const mlx = await planned('cache:mlx');
    expect(mlx).toEqual(['cache:demucs-htdemucs', 'cache:indictrans2-en-indic-1b', 'cache:indictrans2-indic-en-1b', 'cache:indictrans2-indic-indic-1b',
      'cache:nllb-200-distilled-600m', 'cache:pyannote-segmentation-3.0', 'cache:whisper-large-v3-mlx']);
    expect(mlx).toEqual(expect.arrayContaining(cacheStagesWhere((e) => e.family === 'mlx')));
    expect(await planned('cache:all')).toEqual(cacheStagesWhere(() => true));
  }, 60_000);

  test('pipe list shows every family and profile target with a description, and the apt pool with the installing stages', async () => {
    const listed = JSON.parse(ok(await project.pipe(['list'])).stdout) as {
      stages: { name: string; pool?: string }[];
      groups: { name: string; desc: string; members: string[] }[];
      pools: { name: string; depth: number; stages: string[] }[];
    };
    const groups = Object.fromEntries(listed.groups.map((g) => [g.name, g]));
    for (const name of ['whisperx', 'mlx', 'indictrans2', 'nllb', 'pyannote', 'demucs', 'cuda', 'cpu', 'all']) {
      expect(groups[`cache:${name}`]?.desc, name).toMatch(/\S/);
    }
    expect(groups['cache:indictrans2']?.desc).toBe('Fetch the indictrans2 models');
    // both run apt-get, which takes the dpkg lock: never at the same time
    expect(listed.pools.find((p) => p.name === 'apt')).toEqual({ name: 'apt', depth: 1, stages: ['bootstrap:tools', 'bootstrap:apertium'] });
    const text = ok(await project.pipe(['list'], { json: false })).stdout;
    expect(text).toMatch(/^ {2}cache:indictrans2 +Fetch the indictrans2 models: cache:indictrans2-en-indic-1b, /m);
    expect(text).toMatch(/^ {2}apt +depth 1: bootstrap:tools, bootstrap:apertium$/m);
  }, 30_000);
});
