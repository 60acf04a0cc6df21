#!/usr/bin/env node
// @ts-check
/**
 * asr: pocketsphinx (en-us) over a 16 kHz mono WAV -> words with times.
 * Usage: asr.mjs --in AUDIO.wav --language en --words words.json --transcript transcript.txt
 *                [--model DIR] [--lm FILE] [--beam 1e-48 --lw 6.5 ...]  (decoder settings: lib/decoder-options.mjs)
 */
import { existsSync } from 'node:fs';
import { parseArgs, required, runMain, runTool, StageError, writeAtomic, writeJson } from './lib/cli.mjs';
import { decoderArgs, DECODER_OPTIONS } from './lib/decoder-options.mjs';
import { parseTimedWords } from './lib/pocketsphinx.mjs';

const DEFAULT_MODEL = '/usr/share/pocketsphinx/model/en-us';

/** @param {string} modelRoot @param {string | undefined} lmFile */
function modelArgs(modelRoot, lmFile) {
  const hmm = `${modelRoot}/en-us`;
  const lm = lmFile || `${modelRoot}/en-us.lm.bin`;
  const dict = `${modelRoot}/cmudict-en-us.dict`;
  for (const path of [hmm, lm, dict]) {
    if (!existsSync(path)) {
      const hint = path === lmFile ? '' : ' (install it with: apt-get install pocketsphinx-en-us)';
      throw new StageError(`pocketsphinx model file missing: ${path}${hint}`);
    }
  }
  return ['-hmm', hmm, '-lm', lm, '-dict', dict];
}

runMain('asr', async () => {
  const known = ['in', 'language', 'words', 'transcript', 'model', 'lm', ...Object.keys(DECODER_OPTIONS)];
  const { opts } = parseArgs(process.argv.slice(2), known);
  const input = required(opts, 'in');
  const language = required(opts, 'language');
  if (language !== 'en') {
    throw new StageError(`the offline profile recognizes English only (pocketsphinx en-us); got --language ${language}. Use a production profile (--set profile=cpu) for other languages`);
  }
  if (!existsSync(input)) throw new StageError(`audio not found: ${input}`);
  const decoder = decoderArgs(opts);
  const model = modelArgs(opts.model || DEFAULT_MODEL, opts.lm);
  const { stdout } = await runTool('pocketsphinx_continuous', ['-infile', input, '-time', 'yes', '-logfn', '/dev/null', ...model, ...decoder.args]);
  const words = parseTimedWords(stdout);
  writeJson(required(opts, 'words'), { language, engine: 'pocketsphinx-0.8 en-us', decoder: decoder.settings, words });
  writeAtomic(required(opts, 'transcript'), words.map((w) => w.word).join(' ') + '\n');
});
