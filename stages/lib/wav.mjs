// @ts-check
/** Reads 16-bit PCM mono WAV files (what demux writes) into Float32 samples. */
import { readFileSync } from 'node:fs';
import { StageError } from './cli.mjs';

/**
 * @param {string} path
 * @returns {{ sampleRate: number, samples: Float32Array }}
 */
export function readWavMono16(path) {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new StageError(`not a WAV file: ${path}`);
  }
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = buf.readUInt16LE(body);
      const channels = buf.readUInt16LE(body + 2);
      const bits = buf.readUInt16LE(body + 14);
      sampleRate = buf.readUInt32LE(body + 4);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new StageError(`${path}: expected 16-bit PCM mono WAV (got format ${format}, ${channels} ch, ${bits} bit)`);
      }
    } else if (id === 'data') {
      if (!sampleRate) throw new StageError(`${path}: data chunk before fmt chunk`);
      const end = Math.min(buf.length, body + size);
      const count = Math.floor((end - body) / 2);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = buf.readInt16LE(body + 2 * i) / 32768;
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new StageError(`${path}: no audio data`);
}
