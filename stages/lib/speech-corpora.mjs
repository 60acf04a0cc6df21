// @ts-check
/**
 * Real recorded read English with reference transcripts, from Debian packages, built into clips
 * (utterances joined with pauses, as a film's audio track would be) for measuring the ASR stage.
 *
 *   librivox    pocketsphinx-testdata: 5 sentences of "Sense and Sensibility" read for LibriVox, 29.5 s
 *   asterisk-N  asterisk-core-sounds-en-g722 + asterisk-core-sounds-en: the Asterisk prompts (one
 *               professional speaker) with 6+ words and no digits or notes, dealt round-robin into 8 clips
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { StageError } from './cli.mjs';

export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';
const ASTERISK_SOUNDS = '/usr/share/asterisk/sounds/en_US_f_Allison';
const ASTERISK_TEXT = '/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz';
const ASTERISK_CLIPS = 8;
const PAUSE_S = '0.8';

/** @typedef {{ audio: string, text: string }} Utterance */
/** @typedef {{ name: string, utterances: () => Utterance[], package: string }} ClipSource */

/** @returns {Utterance[]} */
export function librivoxUtterances() {
  const transcription = readFileSync(join(LIBRIVOX_DIR, 'transcription'), 'utf8');
  return transcription
    .split('\n')
    .map((line) => line.match(/^(.*)\(([^()]+)\)\s*$/))
    .filter((m) => m !== null)
    .map((m) => ({ audio: join(LIBRIVOX_DIR, `${m[2]}.wav`), text: m[1].replace(/<\/?s>/g, ' ').replace(/\s+/g, ' ').trim() }));
}

/** @returns {Utterance[]} every usable prompt, sorted by name */
function asteriskPrompts() {
  const lines = gunzipSync(readFileSync(ASTERISK_TEXT)).toString('utf8').split('\n');
  /** @type {Utterance[]} */
  const prompts = [];
  for (const line of lines) {
    const m = line.match(/^([a-z0-9-]+): (.+)$/);
    if (!m) continue;
    const [, name, text] = m;
    const audio = join(ASTERISK_SOUNDS, `${name}.g722`);
    if (/[0-9[\]()]/.test(text) || text.split(/\s+/).length < 6 || !existsSync(audio)) continue;
    prompts.push({ audio, text });
  }
  return prompts.sort((a, b) => a.audio.localeCompare(b.audio));
}

/** @returns {ClipSource[]} */
export function clipSources() {
  const asterisk = Array.from({ length: ASTERISK_CLIPS }, (_, clip) => ({
    name: `asterisk-${clip}`,
    package: 'asterisk-core-sounds-en-g722 asterisk-core-sounds-en',
    utterances: () => asteriskPrompts().filter((_, i) => i % ASTERISK_CLIPS === clip),
  }));
  return [{ name: 'librivox', package: 'pocketsphinx-testdata', utterances: librivoxUtterances }, ...asterisk];
}

/** @param {ClipSource} source */
function checkInstalled(source) {
  const probe = source.name === 'librivox' ? LIBRIVOX_DIR : ASTERISK_TEXT;
  if (!existsSync(probe)) throw new StageError(`clip ${source.name} needs ${probe} (install it with: apt-get install ${source.package})`);
}

/**
 * Builds (once) `<work>/<name>.wav` (16 kHz mono, utterances joined by 0.8 s pauses) and `<name>.ref.txt`.
 * @param {ClipSource} source @param {string} work
 * @returns {{ audio: string, reference: string }}
 */
export function buildClip(source, work) {
  const audio = join(work, `${source.name}.wav`);
  const reference = join(work, `${source.name}.ref.txt`);
  if (existsSync(audio) && existsSync(reference)) return { audio, reference };
  checkInstalled(source);
  const parts = join(work, `${source.name}.parts`);
  mkdirSync(parts, { recursive: true });
  const silence = join(parts, 'pause.wav');
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', silence, 'trim', '0', PAUSE_S]);
  const utterances = source.utterances();
  const pieces = [silence];
  utterances.forEach((u, i) => {
    const piece = join(parts, `${String(i).padStart(3, '0')}.wav`);
    const format = u.audio.endsWith('.g722') ? ['-f', 'g722'] : [];
    execFileSync('ffmpeg', ['-v', 'error', '-y', ...format, '-i', u.audio, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', piece]);
    pieces.push(piece, silence);
  });
  const tmp = join(work, `.${source.name}.tmp.wav`);
  execFileSync('sox', [...pieces, tmp]);
  writeFileSync(reference, utterances.map((u) => u.text).join('\n') + '\n');
  renameSync(tmp, audio);
  return { audio, reference };
}
