#!/usr/bin/env node
// @ts-check
/**
 * subtitles: cues.LANG.json -> SRT and WebVTT.  Usage: subtitles.mjs --cues cues.json --srt X.srt --vtt X.vtt
 * Every cue is re-fitted to 2 lines of 42 characters (split in time when longer), so cue files from
 * any backend (the Python translators write plain text per cue) come out within the limits.
 */
import { parseArgs, required, runMain, writeAtomic } from './lib/cli.mjs';
import { readCues } from './lib/cuefile.mjs';
import { fitText } from './lib/cues.mjs';
import { toSrt, toVtt } from './lib/formats.mjs';

runMain('subtitles', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['cues', 'srt', 'vtt']);
  const { language, cues: raw } = readCues(required(opts, 'cues'));
  const cues = raw.flatMap((cue) => fitText(cue, cue.text));
  writeAtomic(required(opts, 'srt'), toSrt(cues));
  writeAtomic(required(opts, 'vtt'), toVtt(cues, language));
});
