#!/usr/bin/env node
// @ts-check
/**
 * translate: source cues -> target cues with apertium (offline profile), one cue per line.
 * Usage: translate.mjs --cues cues.en.json --source en --target es --out cues.es.json
 */
import { parseArgs, required, runMain, StageError, writeJson } from './lib/cli.mjs';
import { pairName, requirePair, translateLines } from './lib/apertium.mjs';
import { fitText } from './lib/cues.mjs';
import { readCues } from './lib/cuefile.mjs';

runMain('translate', async () => {
  const { opts } = parseArgs(process.argv.slice(2), ['cues', 'source', 'target', 'out']);
  const source = required(opts, 'source');
  const target = required(opts, 'target');
  const { cues } = readCues(required(opts, 'cues'));
  if (source === target) throw new StageError(`source and target are both '${source}'`);
  const pair = pairName(source, target);
  await requirePair(pair);
  const translated = await translateLines(cues.map((c) => c.text), pair);
  const out = cues.flatMap((cue, i) => fitText(cue, translated[i]));
  writeJson(required(opts, 'out'), { language: target, source_language: source, engine: `apertium ${pair}`, cues: out });
});
