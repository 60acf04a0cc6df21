// The subtitle pipeline end to end through the pipe CLI (node bin/pipe.js --json), in a temporary
// copy of the project: full demo run, no-op rerun, target change, two films, production dry runs.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pipeBin = join(root, 'bin', 'pipe.js');
const engineBuilt = existsSync(join(root, 'dist', 'cli', 'main.js'));

interface StageEvent {
  type: 'stage';
  stage: string;
  status: string;
  ms?: number;
  reason?: string;
}

interface PipeResult {
  code: number;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
  stages: StageEvent[];
  summary?: { ran: number; skipped: number; restored: number; failed: number; ms: number };
  wallMs: number;
}

function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-subtitle-'));
  for (const entry of ['pipeline.yaml', 'stages', 'samples', 'config']) {
    cpSync(join(root, entry), join(dir, entry), {
      recursive: true,
      // machine-local outputs of bootstrap stages stay out of the copy
      filter: (src) => !/config\/(hardware|tools|apertium)\.json$/.test(src) && !src.includes('__pycache__'),
    });
  }
  if (existsSync(join(root, 'schema'))) cpSync(join(root, 'schema'), join(dir, 'schema'), { recursive: true });
  return dir;
}

function pipe(project: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<PipeResult> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [pipeBin, '-f', join(project, 'pipeline.yaml'), '--json', ...args], { cwd: project, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const events = stdout
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
      const stages = events.filter((e) => e.type === 'stage') as unknown as StageEvent[];
      const summary = events.find((e) => e.type === 'summary') as PipeResult['summary'];
      done({ code: code ?? 1, stdout, stderr, events, stages, summary, wallMs: Date.now() - started });
    });
  });
}

const ran = (r: PipeResult) => r.stages.filter((s) => s.status === 'ran').map((s) => s.stage);
const template = (name: string) => name.replace(/@.*$/, '');
const jobOf = (name: string) => name.split('@')[1];

function streamsOf(path: string): string[] {
  const out = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return out.stdout.trim().split('\n');
}

describe.skipIf(!engineBuilt)('pipe run subtitle (offline profile)', () => {
  let project: string;
  let first: PipeResult;

  beforeAll(async () => {
    project = copyProject();
    // --no-network: every stage runs in a fresh network namespace, proving the offline profile needs none
    first = await pipe(project, ['run', '--no-network', 'subtitle']);
    console.log(`demo run: ${first.wallMs} ms wall, ${first.summary?.ran} stages ran`);
  }, 120_000);

  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('turns the demo film into Spanish subtitles muxed into an MP4, offline, in under a minute', () => {
    expect(first.stderr).not.toMatch(/Error:|at .*\.js:\d+/);
    expect(first.code).toBe(0);
    const templates = new Set(ran(first).map(template));
    for (const name of ['bootstrap:detect', 'bootstrap:tools', 'bootstrap:apertium', 'demux', 'vad:energy', 'asr:pocketsphinx', 'cues', 'subtitles:source',
      'translate:apertium', 'subtitles:target', 'mux']) {
      expect(templates).toContain(name);
    }
    for (const name of ['separate', 'vad:pyannote', 'asr:whisperx', 'translate:nllb', 'bootstrap:env:whisperx']) {
      expect(templates).not.toContain(name);
    }
    expect(first.summary).toMatchObject({ failed: 0 });
    expect(first.wallMs).toBeLessThan(60_000);

    const job = jobOf(ran(first).find((n) => n.startsWith('mux@'))!);
    expect(job).toMatch(/^demo-[0-9a-f]{8}$/);
    const folder = join(project, 'jobs', job);
    expect(readdirSync(folder)).toEqual(expect.arrayContaining([
      'audio.wav', 'segments.json', 'words.json', 'transcript.txt', 'cues.en.json', 'cues.es.json',
      'subtitles.en.srt', 'subtitles.en.vtt', 'subtitles.es.srt', 'subtitles.es.vtt', 'video',
    ]));
    expect(readFileSync(join(folder, 'subtitles.es.srt'), 'utf8')).toMatch(/perro/);
    expect(streamsOf(join(folder, 'video', 'demo.es.mp4'))).toEqual(['h264', 'aac', 'mov_text']);
  });

  it('runs nothing the second time', async () => {
    const again = await pipe(project, ['run', 'subtitle']);
    expect(again.code).toBe(0);
    expect(ran(again)).toEqual([]);
    expect(again.summary).toMatchObject({ ran: 0, failed: 0 });
  }, 60_000);

  it('reruns only translation, target subtitles and mux when the target changes (-t)', async () => {
    const catalan = await pipe(project, ['run', 'subtitle', '-t', 'ca']);
    expect(catalan.code).toBe(0);
    const templates = ran(catalan).map(template).sort();
    // bootstrap:apertium checks the new pair; everything upstream of translation stays as it is
    expect(templates).toEqual(['bootstrap:apertium', 'mux', 'subtitles:target', 'translate:apertium']);
    const job = jobOf(ran(catalan).find((n) => n.startsWith('mux@'))!);
    expect(streamsOf(join(project, 'jobs', job, 'video', 'demo.ca.mp4'))).toEqual(['h264', 'aac', 'mov_text']);
  }, 60_000);

  it('gives each of two films its own job folder and shares the bootstrap stages', async () => {
    const both = await pipe(project, ['run', 'subtitle', '-t', 'ca', '--media', 'samples/demo.mp4', '--media', 'samples/demo2.mp4']);
    expect(both.code).toBe(0);
    const muxes = both.stages.filter((s) => template(s.stage) === 'mux').map((s) => jobOf(s.stage));
    expect(muxes).toHaveLength(2);
    expect(new Set(muxes).size).toBe(2);
    // the bootstrap stages appear once for the run, not once per film
    expect(both.stages.filter((s) => s.stage === 'bootstrap:tools')).toHaveLength(1);
    expect(both.stages.filter((s) => s.stage === 'bootstrap:apertium')).toHaveLength(1);
    // demo was done by the previous run; only demo2's job ran
    const ranJobs = new Set(ran(both).map(jobOf));
    expect([...ranJobs]).toHaveLength(1);
    const job2 = [...ranJobs][0];
    expect(job2).toMatch(/^demo2-[0-9a-f]{8}$/);
    expect(streamsOf(join(project, 'jobs', job2, 'video', 'demo2.ca.mp4'))).toEqual(['h264', 'aac', 'mov_text']);
  }, 90_000);
});

describe.skipIf(!engineBuilt)('production profiles (no GPU here: validate and dry-run only)', () => {
  let project: string;
  beforeAll(() => {
    project = copyProject();
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it.each(['offline', 'cuda', 'mlx', 'cpu'])('validates with profile=%s', async (profile) => {
    const result = await pipe(project, ['validate', '--set', `profile=${profile}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each([
    ['cuda', 'en', 'es', ['separate', 'vad:pyannote', 'asr:whisperx', 'translate:nllb', 'cache:faster-whisper-large-v3',
      'cache:pyannote-segmentation-3.0', 'cache:demucs-htdemucs', 'cache:nllb-200-distilled-600m', 'bootstrap:env:whisperx']],
    ['mlx', 'en', 'hi', ['asr:mlx', 'translate:indictrans2:en-indic', 'cache:whisper-large-v3-mlx', 'cache:indictrans2-en-indic-1b',
      'bootstrap:env:mlx', 'bootstrap:env:indictrans2']],
    ['cpu', 'hi', 'en', ['asr:whisperx', 'translate:indictrans2:indic-en', 'cache:indictrans2-indic-en-1b', 'cache:wav2vec2-align-hi']],
  ])('dry-runs profile=%s (%s -> %s) with the production stages and their model caches', async (profile, source, target, expected) => {
    const result = await pipe(project, ['run', '-n', 'subtitle', '--set', `profile=${profile}`, '-s', source, '-t', target]);
    expect(result.code).toBe(0);
    const planned = new Set(result.stages.map((s) => template(s.stage)));
    for (const name of expected as string[]) expect(planned).toContain(name);
    for (const name of ['vad:energy', 'asr:pocketsphinx', 'translate:apertium']) expect(planned).not.toContain(name);
    // a dry run reports what would run and runs nothing: no job folder, no environment
    for (const event of result.stages) expect(event.reason).toMatch(/^would run/);
    expect(existsSync(join(project, 'jobs'))).toBe(false);
    expect(existsSync(join(project, '.venvs'))).toBe(false);
  }, 60_000);
});

describe.skipIf(!engineBuilt)('a missing tool', () => {
  it('stops the run at bootstrap:tools with the apt-get command to type', async () => {
    const project = copyProject();
    try {
      // PATH holds node only, so ffmpeg, pocketsphinx and apertium are all missing
      const bin = join(project, 'only-node');
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, 'node'));
      const result = await pipe(project, ['run', 'subtitle'], { ...process.env, PATH: bin });
      expect(result.code).toBe(1);
      const failed = result.stages.filter((s) => s.status === 'failed').map((s) => s.stage);
      expect(failed).toContain('bootstrap:tools');
      expect(result.stdout + result.stderr).toContain('install with: sudo apt-get install -y --no-install-recommends ffmpeg');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 60_000);
});
