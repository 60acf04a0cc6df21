#!/usr/bin/env node
// @ts-check
/**
 * vad: energy voice activity detection.
 * Usage: vad.mjs --in AUDIO.wav --out segments.json [--floor-db -55] [--offset-db 15] [--merge-gap 0.4] [--min-speech 0.25] [--pad 0.08]
 * 20 ms frames, RMS in dB; threshold = max(floor, min(P10 + offset, (P10 + P95) / 2));
 * gaps < merge-gap seconds merged, segments < min-speech dropped, pad seconds added at both ends.
 */
import { existsSync } from 'node:fs';
import { parseArgs, required, runMain, StageError, writeJson } from './lib/cli.mjs';
import { readWavMono16 } from './lib/wav.mjs';

const FRAME_S = 0.02;

/** @typedef {{ floorDb: number, offsetDb: number, mergeGap: number, minSpeech: number, pad: number }} VadSettings */

/** @type {VadSettings} */
export const VAD_DEFAULTS = { floorDb: -55, offsetDb: 15, mergeGap: 0.4, minSpeech: 0.25, pad: 0.08 };

/** Command-line option -> setting, with the range a value must be in. */
const VAD_OPTIONS = /** @type {const} */ ({
  'floor-db': { key: 'floorDb', min: -120, max: 0 },
  'offset-db': { key: 'offsetDb', min: 0, max: 60 },
  'merge-gap': { key: 'mergeGap', min: 0, max: 10 },
  'min-speech': { key: 'minSpeech', min: 0, max: 10 },
  pad: { key: 'pad', min: 0, max: 5 },
});

/**
 * @param {Record<string, string>} opts
 * @returns {VadSettings}
 */
export function vadSettings(opts) {
  const settings = { ...VAD_DEFAULTS };
  for (const [name, { key, min, max }] of Object.entries(VAD_OPTIONS)) {
    if (opts[name] === undefined) continue;
    const value = Number(opts[name].trim());
    if (opts[name].trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new StageError(`--${name} must be a number from ${min} to ${max}, got '${opts[name]}'`);
    }
    settings[key] = value;
  }
  return settings;
}

/** @param {Float32Array} samples @param {number} frameLen */
export function frameDb(samples, frameLen) {
  const frames = Math.floor(samples.length / frameLen);
  const db = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let i = f * frameLen; i < (f + 1) * frameLen; i++) sum += samples[i] * samples[i];
    db[f] = 10 * Math.log10(sum / frameLen + 1e-12);
  }
  return db;
}

/** @param {Float64Array} values @param {number} p 0..1 */
function percentile(values, p) {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** @param {Float64Array} db @param {VadSettings} settings */
export function thresholdDb(db, settings = VAD_DEFAULTS) {
  const p10 = percentile(db, 0.1);
  const p95 = percentile(db, 0.95);
  return Math.max(settings.floorDb, Math.min(p10 + settings.offsetDb, (p10 + p95) / 2));
}

/**
 * @param {Float32Array} samples
 * @param {number} sampleRate
 * @param {VadSettings} [settings]
 * @returns {{ threshold_db: number, segments: { start: number, end: number }[] }}
 */
export function detectSpeech(samples, sampleRate, settings = VAD_DEFAULTS) {
  const frameLen = Math.round(FRAME_S * sampleRate);
  const db = frameDb(samples, frameLen);
  const duration = samples.length / sampleRate;
  if (db.length === 0) return { threshold_db: 0, segments: [] };
  const threshold = thresholdDb(db, settings);
  /** @type {{ start: number, end: number }[]} */
  const raw = [];
  for (let f = 0; f < db.length; f++) {
    if (db[f] <= threshold) continue;
    const start = f * FRAME_S;
    const last = raw[raw.length - 1];
    if (last && start - last.end < settings.mergeGap) last.end = start + FRAME_S;
    else raw.push({ start, end: start + FRAME_S });
  }
  const round = (/** @type {number} */ t) => Math.round(t * 1000) / 1000;
  const segments = raw
    .filter((s) => s.end - s.start >= settings.minSpeech)
    .map((s) => ({ start: round(Math.max(0, s.start - settings.pad)), end: round(Math.min(duration, s.end + settings.pad)) }));
  return { threshold_db: Math.round(threshold * 10) / 10, segments };
}

runMain('vad', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['in', 'out', ...Object.keys(VAD_OPTIONS)]);
  const settings = vadSettings(opts);
  const input = required(opts, 'in');
  const output = required(opts, 'out');
  if (!existsSync(input)) throw new StageError(`audio not found: ${input}`);
  const { samples, sampleRate } = readWavMono16(input);
  const result = detectSpeech(samples, sampleRate, settings);
  writeJson(output, { audio_duration: Math.round((samples.length / sampleRate) * 1000) / 1000, ...result });
});
