#!/usr/bin/env node
// @ts-check
/**
 * score-asr: the word error rate of a transcript against a reference, as metrics and per sentence.
 * Usage: score-asr.mjs --reference REF.txt --transcript HYP.txt --metrics metrics.json --sentences wer.csv
 * The reference has one sentence per line. metrics.json: {"wer", "errors", "words", "substitutions",
 * "deletions", "insertions"}; wer.csv: sentence,wer (an insertion counts against the sentence of the
 * reference word before it).
 */
import { readFileSync } from 'node:fs';
import { parseArgs, required, runMain, StageError, writeAtomic } from './lib/cli.mjs';
import { normalizeWords } from './wer.mjs';

/**
 * The cheapest edit script from ref to hyp, as the kind of each step.
 * @param {string[]} ref @param {string[]} hyp
 * @returns {{ op: 'ok' | 'sub' | 'del' | 'ins', ref: number }[]} ref: the reference word the step is at
 */
function align(ref, hyp) {
  const rows = ref.length + 1;
  const cols = hyp.length + 1;
  const d = new Uint32Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const same = ref[i - 1] === hyp[j - 1] ? 0 : 1;
      d[i * cols + j] = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + same);
    }
  }
  /** @type {{ op: 'ok' | 'sub' | 'del' | 'ins', ref: number }[]} */
  const steps = [];
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    const here = d[i * cols + j];
    if (i > 0 && j > 0 && here === d[(i - 1) * cols + j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      steps.push({ op: ref[i - 1] === hyp[j - 1] ? 'ok' : 'sub', ref: i - 1 });
      i--;
      j--;
    } else if (i > 0 && here === d[(i - 1) * cols + j] + 1) {
      steps.push({ op: 'del', ref: i - 1 });
      i--;
    } else {
      steps.push({ op: 'ins', ref: Math.max(0, i - 1) });
      j--;
    }
  }
  return steps.reverse();
}

runMain('score-asr', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['reference', 'transcript', 'metrics', 'sentences']);
  const sentences = readFileSync(required(opts, 'reference'), 'utf8').split('\n').map(normalizeWords).filter((s) => s.length);
  if (sentences.length === 0) throw new StageError('the reference has no words');
  const ref = sentences.flat();
  const sentenceOf = sentences.flatMap((s, n) => s.map(() => n));
  const hyp = normalizeWords(readFileSync(required(opts, 'transcript'), 'utf8'));
  const steps = align(ref, hyp);
  const count = (/** @type {string} */ op) => steps.filter((s) => s.op === op).length;
  const [substitutions, deletions, insertions] = [count('sub'), count('del'), count('ins')];
  const errors = substitutions + deletions + insertions;
  const round = (/** @type {number} */ x) => Number(x.toFixed(4));
  writeAtomic(required(opts, 'metrics'), JSON.stringify({ wer: round(errors / ref.length), errors, words: ref.length, substitutions, deletions, insertions }, null, 2) + '\n');
  const perSentence = sentences.map(() => 0);
  for (const step of steps) if (step.op !== 'ok') perSentence[sentenceOf[step.ref] ?? 0]++;
  const csv = ['sentence,wer', ...sentences.map((s, n) => `${n + 1},${round(perSentence[n] / s.length)}`)];
  writeAtomic(required(opts, 'sentences'), csv.join('\n') + '\n');
});
