#!/usr/bin/env node
// @ts-check
/**
 * mux: adds a subtitle track to the film, copying its audio and video streams.
 * MP4/MOV/M4V keep their container (mov_text track); anything else becomes MKV (SRT track).
 * Usage: mux.mjs --media FILM --subtitles X.srt --language es --out-dir DIR
 * Writes DIR/<film name>.<language>.<mp4|mov|m4v|mkv>; DIR is replaced as a whole.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs, required, runMain, runTool, StageError } from './lib/cli.mjs';

/** ISO 639-1 -> ISO 639-2/B, the form MP4 and MKV language tags use. */
const ISO639_2 = /** @type {Record<string, string>} */ ({
  en: 'eng', es: 'spa', fr: 'fre', de: 'ger', it: 'ita', pt: 'por', ca: 'cat', nl: 'dut', ru: 'rus',
  zh: 'chi', ja: 'jpn', ko: 'kor', ar: 'ara', hi: 'hin', bn: 'ben', ta: 'tam', te: 'tel', mr: 'mar',
  gu: 'guj', kn: 'kan', ml: 'mal', pa: 'pan', ur: 'urd', or: 'ori', as: 'asm', ne: 'nep', sa: 'san',
  tr: 'tur', pl: 'pol', sv: 'swe', uk: 'ukr', vi: 'vie', id: 'ind', fa: 'per', he: 'heb', el: 'gre',
});

const MOV_FAMILY = new Set(['.mp4', '.m4v', '.mov']);

/** @param {string} media */
export function outputContainer(media) {
  const ext = extname(media).toLowerCase();
  return MOV_FAMILY.has(ext) ? { ext, codec: 'mov_text' } : { ext: '.mkv', codec: 'srt' };
}

runMain('mux', async () => {
  const { opts } = parseArgs(process.argv.slice(2), ['media', 'subtitles', 'language', 'out-dir']);
  const media = required(opts, 'media');
  const subtitles = required(opts, 'subtitles');
  const language = required(opts, 'language');
  const outDir = required(opts, 'out-dir');
  for (const path of [media, subtitles]) if (!existsSync(path)) throw new StageError(`file not found: ${path}`);
  const { ext, codec } = outputContainer(media);
  const name = `${basename(media, extname(media))}.${language}${ext}`;
  const staging = join(dirname(outDir), `.${basename(outDir)}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // a film without speech has no cues: ffmpeg cannot read an empty SRT, so the copy gets no track
  const hasCues = readFileSync(subtitles, 'utf8').trim() !== '';
  if (!hasCues) process.stderr.write(`mux: ${subtitles} has no cues; the film is copied without a subtitle track\n`);
  const subtitleInput = hasCues ? ['-i', subtitles] : [];
  const subtitleTrack = hasCues
    ? ['-map', '1:0', '-c:s', codec, '-metadata:s:s:0', `language=${ISO639_2[language] ?? language}`]
    : [];
  try {
    await runTool('ffmpeg', [
      '-nostdin', '-v', 'error', '-y', '-i', media, ...subtitleInput,
      '-map', '0:v?', '-map', '0:a?', '-c:v', 'copy', '-c:a', 'copy', ...subtitleTrack,
      '-map_metadata', '0', join(staging, name),
    ]);
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  process.stdout.write(`mux: wrote ${join(outDir, name)}\n`);
});
