#!/usr/bin/env node
// @ts-check
/**
 * wer: word error rate of a hypothesis against a reference (lowercased, punctuation stripped).
 * Usage: wer.mjs REFERENCE.txt HYPOTHESIS.txt [--json]   (prints "WER 13.8% (11/80)")
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runMain, StageError } from './lib/cli.mjs';

/** @param {string} text */
export function normalizeWords(text) {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

/**
 * Levenshtein distance over words.
 * @param {string[]} ref @param {string[]} hyp
 */
export function editDistance(ref, hyp) {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[hyp.length];
}

/** @param {string} reference @param {string} hypothesis */
export function wordErrorRate(reference, hypothesis) {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  if (ref.length === 0) throw new StageError('reference has no words');
  const errors = editDistance(ref, hyp);
  return { wer: errors / ref.length, errors, words: ref.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runMain('wer', () => {
    const args = process.argv.slice(2);
    const json = args.includes('--json');
    const [refPath, hypPath] = args.filter((a) => a !== '--json');
    if (!refPath || !hypPath) throw new StageError('usage: wer.mjs REFERENCE.txt HYPOTHESIS.txt [--json]');
    const result = wordErrorRate(readFileSync(refPath, 'utf8'), readFileSync(hypPath, 'utf8'));
    process.stdout.write(json ? JSON.stringify(result) + '\n' : `WER ${(result.wer * 100).toFixed(1)}% (${result.errors}/${result.words})\n`);
  });
}
