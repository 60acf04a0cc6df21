// @ts-check
/**
 * The pocketsphinx 0.8 decoder settings the ASR stage exposes, with the defaults it ships.
 * Each is a `--name value` option of stages/asr.mjs and an `asr_<name>` var of pipeline.yaml.
 * Defaults were tuned on real recorded read speech; docs/subtitles.md has the figures.
 */
import { StageError } from './cli.mjs';

/** @typedef {'number' | 'integer' | 'yesno'} Kind */
/** @typedef {{ flag: string, kind: Kind, fallback: string, help: string }} DecoderOption */

/** @type {Record<string, DecoderOption>} */
export const DECODER_OPTIONS = {
  beam: { flag: '-beam', kind: 'number', fallback: '1e-48', help: 'HMM beam (smaller keeps more hypotheses, slower)' },
  wbeam: { flag: '-wbeam', kind: 'number', fallback: '7e-29', help: 'word-exit beam' },
  pbeam: { flag: '-pbeam', kind: 'number', fallback: '1e-48', help: 'phone-transition beam' },
  lw: { flag: '-lw', kind: 'number', fallback: '6.5', help: 'language weight of the first pass' },
  fwdflatlw: { flag: '-fwdflatlw', kind: 'number', fallback: '8.5', help: 'language weight of the flat second pass' },
  bestpathlw: { flag: '-bestpathlw', kind: 'number', fallback: '9.5', help: 'language weight of the lattice best path' },
  wip: { flag: '-wip', kind: 'number', fallback: '0.65', help: 'word insertion penalty' },
  pip: { flag: '-pip', kind: 'number', fallback: '1.0', help: 'phone insertion penalty' },
  silprob: { flag: '-silprob', kind: 'number', fallback: '0.005', help: 'silence word probability' },
  fillprob: { flag: '-fillprob', kind: 'number', fallback: '1e-8', help: 'filler word probability' },
  maxhmmpf: { flag: '-maxhmmpf', kind: 'integer', fallback: '30000', help: 'most active HMMs per frame (-1: no limit)' },
  fwdflat: { flag: '-fwdflat', kind: 'yesno', fallback: 'yes', help: 'run the flat-lexicon second pass' },
  bestpath: { flag: '-bestpath', kind: 'yesno', fallback: 'yes', help: 'rescore the lattice for the best path' },
  vad_threshold: { flag: '-vad_threshold', kind: 'number', fallback: '2.0', help: "decoder VAD: speech threshold (the decoder's own utterance split)" },
  vad_prespeech: { flag: '-vad_prespeech', kind: 'integer', fallback: '20', help: 'decoder VAD: frames kept before speech' },
  vad_postspeech: { flag: '-vad_postspeech', kind: 'integer', fallback: '50', help: 'decoder VAD: silence frames that end an utterance' },
  remove_noise: { flag: '-remove_noise', kind: 'yesno', fallback: 'yes', help: 'spectral noise removal' },
};

/** pocketsphinx's own defaults (what the stage ran before these options existed). */
export const POCKETSPHINX_DEFAULTS = Object.fromEntries(Object.entries(DECODER_OPTIONS).map(([name, o]) => [name, o.fallback]));

/**
 * The defaults this stage ships; names absent here use pocketsphinx's own. Spectral noise removal
 * hurts clean read speech: off, the word error rate on real recordings drops from 26.5% to 23.5%
 * (docs/subtitles.md, "ASR settings").
 */
export const SHIPPED_DEFAULTS = /** @type {Record<string, string>} */ ({ ...POCKETSPHINX_DEFAULTS, remove_noise: 'no' });

/**
 * @param {string} name @param {string} value
 * @returns {string} the value as pocketsphinx takes it
 */
function checkValue(name, value) {
  const { kind } = DECODER_OPTIONS[name];
  const text = value.trim();
  if (kind === 'yesno') {
    if (!/^(yes|no|true|false)$/i.test(text)) throw new StageError(`--${name} must be yes or no, got '${value}'`);
    return /^(yes|true)$/i.test(text) ? 'yes' : 'no';
  }
  const number = Number(text);
  if (text === '' || !Number.isFinite(number)) throw new StageError(`--${name} must be a number, got '${value}'`);
  if (kind === 'integer' && !Number.isInteger(number)) throw new StageError(`--${name} must be a whole number, got '${value}'`);
  if (kind === 'number' && number < 0) throw new StageError(`--${name} must not be negative, got '${value}'`);
  return text;
}

/**
 * The decoder arguments for the given option values (missing ones take the shipped defaults).
 * @param {Record<string, string | undefined>} values option name -> value
 * @returns {{ args: string[], settings: Record<string, string> }}
 */
export function decoderArgs(values) {
  /** @type {Record<string, string>} */
  const settings = {};
  const args = [];
  for (const [name, option] of Object.entries(DECODER_OPTIONS)) {
    const value = checkValue(name, values[name] ?? SHIPPED_DEFAULTS[name]);
    settings[name] = value;
    args.push(option.flag, value);
  }
  return { args, settings };
}
