// @ts-check
/** Reads and validates the JSON files the stages exchange (words.json, segments.json, cues.LANG.json). */
import { existsSync, readFileSync } from 'node:fs';
import { StageError } from './cli.mjs';

/** @param {string} path */
export function readJson(path) {
  if (!existsSync(path)) throw new StageError(`file not found: ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new StageError(`not valid JSON: ${path}`);
  }
}

/** @param {string} path @returns {{ language?: string, words: import('./cues.mjs').Word[] }} */
export function readWords(path) {
  const data = readJson(path);
  if (!Array.isArray(data?.words)) throw new StageError(`${path}: expected {"words": [...]}`);
  for (const w of data.words) {
    if (typeof w?.word !== 'string' || typeof w.start !== 'number' || typeof w.end !== 'number') {
      throw new StageError(`${path}: every word needs "word", "start" and "end"`);
    }
  }
  return data;
}

/** @param {string} path @returns {{ audio_duration?: number, segments: import('./cues.mjs').Span[] }} */
export function readSegments(path) {
  const data = readJson(path);
  if (!Array.isArray(data?.segments)) throw new StageError(`${path}: expected {"segments": [...]}`);
  return data;
}

/** @param {string} path @returns {{ language: string, cues: import('./cues.mjs').Cue[] }} */
export function readCues(path) {
  const data = readJson(path);
  if (!Array.isArray(data?.cues)) throw new StageError(`${path}: expected {"cues": [...]}`);
  for (const c of data.cues) {
    if (typeof c?.text !== 'string' || typeof c.start !== 'number' || typeof c.end !== 'number') {
      throw new StageError(`${path}: every cue needs "start", "end" and "text"`);
    }
  }
  return data;
}
