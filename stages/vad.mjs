#!/usr/bin/env node
// @ts-check
/**
 * vad: energy voice activity detection.  Usage: vad.mjs --in AUDIO.wav --out segments.json
 * 20 ms frames, RMS in dB; threshold = max(-55, min(P10 + 15, (P10 + P95) / 2));
 * gaps < 400 ms merged, segments < 250 ms dropped, 80 ms padding.
 */
import { existsSync } from 'node:fs';
import { parseArgs, required, runMain, StageError, writeJson } from './lib/cli.mjs';
import { readWavMono16 } from './lib/wav.mjs';

const FRAME_S = 0.02;
const MERGE_GAP_S = 0.4;
const MIN_SPEECH_S = 0.25;
const PAD_S = 0.08;

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

/** @param {Float64Array} db */
export function thresholdDb(db) {
  const p10 = percentile(db, 0.1);
  const p95 = percentile(db, 0.95);
  return Math.max(-55, Math.min(p10 + 15, (p10 + p95) / 2));
}

/**
 * @param {Float32Array} samples
 * @param {number} sampleRate
 * @returns {{ threshold_db: number, segments: { start: number, end: number }[] }}
 */
export function detectSpeech(samples, sampleRate) {
  const frameLen = Math.round(FRAME_S * sampleRate);
  const db = frameDb(samples, frameLen);
  const duration = samples.length / sampleRate;
  if (db.length === 0) return { threshold_db: 0, segments: [] };
  const threshold = thresholdDb(db);
  /** @type {{ start: number, end: number }[]} */
  const raw = [];
  for (let f = 0; f < db.length; f++) {
    if (db[f] <= threshold) continue;
    const start = f * FRAME_S;
    const last = raw[raw.length - 1];
    if (last && start - last.end < MERGE_GAP_S) last.end = start + FRAME_S;
    else raw.push({ start, end: start + FRAME_S });
  }
  const round = (/** @type {number} */ t) => Math.round(t * 1000) / 1000;
  const segments = raw
    .filter((s) => s.end - s.start >= MIN_SPEECH_S)
    .map((s) => ({ start: round(Math.max(0, s.start - PAD_S)), end: round(Math.min(duration, s.end + PAD_S)) }));
  return { threshold_db: Math.round(threshold * 10) / 10, segments };
}

runMain('vad', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['in', 'out']);
  const input = required(opts, 'in');
  const output = required(opts, 'out');
  if (!existsSync(input)) throw new StageError(`audio not found: ${input}`);
  const { samples, sampleRate } = readWavMono16(input);
  const result = detectSpeech(samples, sampleRate);
  writeJson(output, { audio_duration: Math.round((samples.length / sampleRate) * 1000) / 1000, ...result });
});
