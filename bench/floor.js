#!/usr/bin/env node
// @ts-check
// The floor under a Node.js no-op: what the unavoidable pieces of one cost on this machine.
//
// Usage: node bench/floor.js [N=10000]
//
// Builds an N-stage graph with ninja in bench/work/floor-N, then times, in this process:
// hashing pipeline.yaml, JSON.parse of a state file with one record per file, stat of
// every source and output (sync, bigint, and with fs.promises), parsing the YAML with the
// `yaml` package, and importing each runtime dependency. Plus `node -e 0` as a child.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from './generate.js';
import { REPO } from './peers.js';

/** @param {string} label @param {() => unknown} fn */
function timeSync(label, fn) {
  const start = performance.now();
  fn();
  console.log(`${(performance.now() - start).toFixed(1).padStart(8)} ms  ${label}`);
}

/** @param {string} label @param {() => Promise<unknown>} fn */
async function timeAsync(label, fn) {
  const start = performance.now();
  await fn();
  console.log(`${(performance.now() - start).toFixed(1).padStart(8)} ms  ${label}`);
}

/** @param {string} dir */
function filesOf(dir) {
  return ['src', 'out'].flatMap((sub) => readdirSync(join(dir, sub)).map((name) => join(dir, sub, name)));
}

async function main() {
  const size = Number(process.argv[2] ?? 10000);
  const dir = join(REPO, 'bench', 'work', `floor-${size}`);
  rmSync(dir, { recursive: true, force: true });
  generate(size, dir);
  spawnSync('ninja', ['-j2'], { cwd: dir, stdio: 'ignore' });
  const files = filesOf(dir);
  const records = Object.fromEntries(files.map((f) => [f, { size: 1, mtimeNs: '1', ctimeNs: '1', ino: '1', hash: 'x'.repeat(64) }]));
  const stateText = JSON.stringify(records);
  const yamlText = readFileSync(join(dir, 'pipeline.yaml'), 'utf8');

  console.log(`${size} stages, ${files.length} files, pipeline.yaml ${yamlText.length} B, state ${stateText.length} B`);
  timeSync('node -e 0 (child process)', () => spawnSync(process.execPath, ['-e', '0']));
  timeSync('sha256 of pipeline.yaml', () => createHash('sha256').update(yamlText).digest('hex'));
  timeSync('JSON.parse of the state', () => JSON.parse(stateText));
  for (let round = 1; round <= 2; round++) {
    timeSync(`statSync of every file (round ${round})`, () => files.forEach((f) => statSync(f)));
    timeSync(`statSync bigint of every file (round ${round})`, () => files.forEach((f) => statSync(f, { bigint: true })));
  }
  await timeAsync('fs.promises.stat of every file, all at once', () => Promise.all(files.map((f) => promises.stat(f))));
  for (const pkg of ['yaml', 'zod', 'graphology', 'commander', 'execa', 'listr2']) {
    await timeAsync(`import ${pkg}`, () => import(pkg));
  }
  const { parse } = await import('yaml');
  timeSync('yaml parse of pipeline.yaml', () => parse(yamlText));
  rmSync(dir, { recursive: true, force: true });
}

await main();
