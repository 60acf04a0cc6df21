// @ts-check
/** Apertium helpers: language-code mapping, installed pairs, line-aligned translation via files. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, StageError } from './cli.mjs';

/** ISO 639-1 -> the ISO 639-3 codes apertium's mode names use. */
const ISO3 = /** @type {Record<string, string>} */ ({
  en: 'eng', es: 'spa', ca: 'cat', fr: 'fra', pt: 'por', it: 'ita', de: 'deu', nl: 'nld', ro: 'ron',
  gl: 'glg', eu: 'eus', oc: 'oci', an: 'arg', ast: 'ast', hi: 'hin', ur: 'urd', sv: 'swe', da: 'dan',
  nb: 'nob', nn: 'nno', is: 'isl', cy: 'cym', ga: 'gle', br: 'bre', eo: 'epo', kk: 'kaz', tt: 'tat',
  ru: 'rus', uk: 'ukr', be: 'bel', pl: 'pol', cs: 'ces', sk: 'slk', sl: 'slv', hr: 'hbs', sr: 'hbs',
  bs: 'hbs', mk: 'mkd', bg: 'bul', mt: 'mlt', ar: 'ara', he: 'heb', id: 'ind', ms: 'msa', sq: 'sqi',
});

/** @param {string} code ISO 639-1 (or already ISO 639-3) */
export function apertiumCode(code) {
  const lower = code.toLowerCase();
  return ISO3[lower] ?? lower;
}

/** @param {string} source @param {string} target */
export function pairName(source, target) {
  return `${apertiumCode(source)}-${apertiumCode(target)}`;
}

/** @returns {Promise<string[]>} the installed modes, from `apertium -l` */
export async function installedPairs() {
  const { stdout } = await runTool('apertium', ['-l']);
  return String(stdout).split('\n').map((l) => l.trim()).filter(Boolean);
}

/** @param {string} pair */
export async function requirePair(pair) {
  const pairs = await installedPairs();
  if (!pairs.includes(pair)) {
    const packageName = `apertium-${pair}`;
    throw new StageError(
      `apertium pair ${pair} is not installed (installed: ${pairs.join(', ') || 'none'}); try: apt-get install ${packageName}`,
    );
  }
}

/** @param {string} text */
function lineCount(text) {
  return text.replace(/\n$/, '').split('\n').length;
}

/**
 * Translates one line per entry, keeping lines aligned. Apertium gets file paths, never stdin:
 * it reopens /dev/stdin by path, which fails silently (empty output) on Node's socketpair stdin.
 * @param {string[]} lines
 * @param {string} pair
 * @returns {Promise<string[]>}
 */
export async function translateLines(lines, pair) {
  if (lines.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'pipe-apertium-'));
  try {
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    writeFileSync(input, lines.map((l) => l.replace(/\s+/g, ' ').trim()).join('\n') + '\n');
    await runTool('apertium', ['-u', pair, input, output]);
    const translated = readFileSync(output, 'utf8');
    const count = translated.trim() === '' ? 0 : lineCount(translated);
    if (count !== lines.length) {
      throw new StageError(`apertium ${pair} returned ${count} lines for ${lines.length} input lines`);
    }
    return translated.replace(/\n$/, '').split('\n').map((l) => l.replace(/ {2,}/g, ' ').trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
