#!/usr/bin/env node
// @ts-check
/**
 * asr-eval: word error rate of the ASR stage (stages/asr.mjs) on real recorded read English.
 * Usage: asr-eval.mjs [--clips librivox,asterisk-0,...] [--work DIR] [--jobs N] [--json]
 *                     [--pocketsphinx-defaults yes] [any asr.mjs decoder option, e.g. --beam 1e-60]
 * Clips come from Debian packages (lib/speech-corpora.mjs); they are built once into --work.
 * Without decoder options the stage's shipped defaults are measured; --pocketsphinx-defaults yes
 * measures pocketsphinx's own.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, runMain, StageError } from './lib/cli.mjs';
import { DECODER_OPTIONS, POCKETSPHINX_DEFAULTS } from './lib/decoder-options.mjs';
import { buildClip, clipSources } from './lib/speech-corpora.mjs';
import { wordErrorRate } from './wer.mjs';

const ASR = join(dirname(fileURLToPath(import.meta.url)), 'asr.mjs');

/** @param {string[]} args */
function runAsr(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ASR, ...args], (err, _stdout, stderr) => (err ? reject(new StageError(String(stderr).trim() || err.message)) : resolve(undefined)));
  });
}

/**
 * @template T, R
 * @param {T[]} items @param {number} jobs @param {(item: T) => Promise<R>} work
 * @returns {Promise<R[]>}
 */
async function mapLimited(items, jobs, work) {
  /** @type {R[]} */
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

runMain('asr-eval', async () => {
  const decoderNames = [...Object.keys(DECODER_OPTIONS), 'lm'];
  const { opts } = parseArgs(process.argv.slice(2), ['clips', 'work', 'jobs', 'json', 'pocketsphinx-defaults', ...decoderNames]);
  const sources = clipSources();
  const wanted = (opts.clips ?? sources.map((s) => s.name).join(',')).split(',');
  const unknown = wanted.filter((name) => !sources.some((s) => s.name === name));
  if (unknown.length) throw new StageError(`unknown clip ${unknown.join(', ')} (known: ${sources.map((s) => s.name).join(', ')})`);
  const work = opts.work ?? join(tmpdir(), 'pipe-asr-eval');
  mkdirSync(work, { recursive: true });
  const base = opts['pocketsphinx-defaults'] === 'yes' ? POCKETSPHINX_DEFAULTS : {};
  const settings = { ...base, ...Object.fromEntries(decoderNames.filter((n) => opts[n] !== undefined).map((n) => [n, opts[n]])) };
  const decoderFlags = Object.entries(settings).flatMap(([name, value]) => [`--${name}`, value]);
  const jobs = Number(opts.jobs ?? 1);
  const rows = await mapLimited(
    sources.filter((s) => wanted.includes(s.name)),
    jobs,
    async (source) => {
      const clip = buildClip(source, work);
      const tag = `${source.name}.${process.pid}`;
      const transcript = join(work, `${tag}.hyp.txt`);
      const words = join(work, `${tag}.words.json`);
      const started = Date.now();
      await runAsr(['--in', clip.audio, '--language', 'en', '--words', words, '--transcript', transcript, ...decoderFlags]);
      const result = wordErrorRate(readFileSync(clip.reference, 'utf8'), readFileSync(transcript, 'utf8'));
      for (const file of [transcript, words]) rmSync(file, { force: true });
      return { clip: source.name, ...result, s: (Date.now() - started) / 1000 };
    },
  );
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  const words = rows.reduce((n, r) => n + r.words, 0);
  const total = { clip: 'total', wer: errors / words, errors, words };
  if (opts.json === 'yes') {
    process.stdout.write(JSON.stringify({ settings, clips: rows, total }) + '\n');
    return;
  }
  const pct = (/** @type {number} */ wer) => `${(wer * 100).toFixed(1)}%`;
  for (const r of [...rows, total]) process.stdout.write(`${r.clip.padEnd(11)} WER ${pct(r.wer).padStart(6)} (${r.errors}/${r.words})\n`);
});
