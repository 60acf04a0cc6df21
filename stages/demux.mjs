#!/usr/bin/env node
// @ts-check
/** demux: MEDIA -> 16 kHz mono 16-bit WAV.  Usage: demux.mjs --in MEDIA --out AUDIO.wav */
import { existsSync } from 'node:fs';
import { parseArgs, required, runMain, runTool, stagedOutput, StageError } from './lib/cli.mjs';

runMain('demux', async () => {
  const { opts } = parseArgs(process.argv.slice(2), ['in', 'out']);
  const input = required(opts, 'in');
  const output = required(opts, 'out');
  if (!existsSync(input)) throw new StageError(`input media not found: ${input}`);
  const out = stagedOutput(output);
  try {
    await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', input, '-vn', '-map', '0:a:0',
      '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 'wav', out.tmp]);
    out.commit();
  } catch (err) {
    out.discard();
    if (err instanceof StageError && /matches no streams|Stream map|to the map/.test(err.message)) {
      throw new StageError(`no audio stream in ${input}`);
    }
    throw err;
  }
});
