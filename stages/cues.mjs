#!/usr/bin/env node
// @ts-check
/**
 * cues: words with times -> subtitle cues.
 * Usage: cues.mjs --words words.json --language en --out cues.en.json [--segments segments.json]
 */
import { parseArgs, required, runMain, writeJson } from './lib/cli.mjs';
import { buildCues } from './lib/cues.mjs';
import { readSegments, readWords } from './lib/cuefile.mjs';

runMain('cues', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['words', 'segments', 'language', 'out']);
  const { words } = readWords(required(opts, 'words'));
  const vad = opts.segments ? readSegments(opts.segments) : undefined;
  const cues = buildCues(words, { segments: vad?.segments, mediaEnd: vad?.audio_duration });
  writeJson(required(opts, 'out'), { language: required(opts, 'language'), cues });
});
