// @ts-check
/** Parses `pocketsphinx_continuous -time yes` output into words with times and confidences. */

/** @typedef {{ word: string, start: number, end: number, confidence: number }} Word */

const FILLER = /^(<s>|<\/s>|<sil>|\[.*\]|\+\+.*\+\+)$/;

/**
 * @param {string} stdout
 * @returns {Word[]}
 */
export function parseTimedWords(stdout) {
  /** @type {Word[]} */
  const words = [];
  for (const line of stdout.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 4) continue;
    const [token, start, end, posterior] = parts;
    const numbers = [start, end, posterior].map(Number);
    if (numbers.some((n) => !Number.isFinite(n)) || !/^\d/.test(start)) continue;
    if (FILLER.test(token)) continue;
    words.push({
      word: token.replace(/\(\d+\)$/, ''),
      start: numbers[0],
      end: numbers[1],
      confidence: Math.round(Math.min(1, numbers[2]) * 1000) / 1000,
    });
  }
  return words.sort((a, b) => a.start - b.start);
}
