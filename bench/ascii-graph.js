#!/usr/bin/env node
// Wall time of `pipe graph --format ascii` (80 columns) on the bench/generate.js graph: 10 layers, each stage
// reading two outputs of the layer above, so nothing folds and every layer is far wider than the terminal.
//
//   npm run build && node bench/ascii-graph.js [--sizes 1000,5000,20000]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PIPE = path.join(here, '..', 'bin', 'pipe.js');

const arg = process.argv.indexOf('--sizes');
const sizes = (arg > 0 ? process.argv[arg + 1] : '1000,5000,20000').split(',').map(Number);
const root = mkdtempSync(path.join(tmpdir(), 'pipe-ascii-bench-'));
try {
  console.log('| stages | wall | lines |\n| --- | --- | --- |');
  for (const stages of sizes) {
    const dir = path.join(root, String(stages));
    generate(stages, dir);
    const started = performance.now();
    const out = execFileSync('node', [PIPE, 'graph', '--format', 'ascii'], { cwd: dir, maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
    const seconds = (performance.now() - started) / 1000;
    console.log(`| ${stages.toLocaleString('en')} | ${seconds.toFixed(1)} s | ${out.toString().split('\n').length.toLocaleString('en')} |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
