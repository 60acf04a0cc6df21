#!/usr/bin/env node
// @ts-check
// What starting one stage costs the engine's main thread, by way of starting it.
//
// Usage: node bench/spawn.js [COUNT=1000]
//
// Runs COUNT `sh -c 'cat A B > C'` commands, two at a time (like -j2), through
// child_process.spawn (output ignored, or to a log file descriptor) and through execa
// (output ignored, or piped as by default), and prints wall time and the CPU time of this
// Node process per stage. On 2 cores, main-thread CPU per stage times 10,000 stages is time
// taken from the stages themselves.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from './peers.js';

const JOBS = 2;
const dir = join(REPO, 'bench', 'work', 'spawn');

/** @param {number} i */
const command = (i) => `cat ${dir}/a.txt ${dir}/b.txt > ${dir}/out_${i % JOBS}.txt`;

/** @param {import('node:child_process').ChildProcess} child @returns {Promise<void>} */
const exited = (child) =>
  new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`)))),
  );

/** @param {number} i @param {(fd: number) => Promise<unknown>} run */
async function withLog(i, run) {
  const fd = openSync(join(dir, `log_${i % JOBS}`), 'w');
  try {
    await run(fd);
  } finally {
    closeSync(fd);
  }
}

/** @type {Record<string, (i: number) => Promise<unknown>>} */
const ways = {
  'child_process.spawn, stdio ignore': (i) => exited(spawn('/bin/sh', ['-c', command(i)], { stdio: 'ignore' })),
  'child_process.spawn, log fd': (i) => withLog(i, (fd) => exited(spawn('/bin/sh', ['-c', command(i)], { stdio: ['ignore', fd, fd] }))),
  'child_process.spawn detached, log fd': (i) =>
    withLog(i, (fd) => exited(spawn('/bin/sh', ['-c', command(i)], { stdio: ['ignore', fd, fd], detached: true, env: process.env }))),
  'execa detached, log fd (src/exec/process.ts)': (i) =>
    withLog(i, (fd) =>
      execa('/bin/sh', ['-c', command(i)], {
        detached: true, stdin: 'ignore', stdout: /** @type {3} */ (fd), stderr: /** @type {3} */ (fd),
        reject: false, cleanup: false, extendEnv: false, env: process.env,
      }),
    ),
  'execa shell, stdio ignore': (i) => execa(command(i), { shell: true, stdio: 'ignore' }),
  'execa shell, default pipes': (i) => execa(command(i), { shell: true }),
};

/** @param {number} count @param {(i: number) => Promise<unknown>} start */
async function measure(count, start) {
  let next = 0;
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(Array.from({ length: JOBS }, async () => { while (next < count) await start(next++); }));
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - wallStart, cpu: (cpu.user + cpu.system) / 1000 };
}

async function main() {
  const count = Number(process.argv[2] ?? 1000);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  writeFileSync(join(dir, 'b.txt'), 'b\n');
  console.log(`${count} stages at -j${JOBS}:`);
  for (const [name, start] of Object.entries(ways)) {
    const { wall, cpu } = await measure(count, start);
    console.log(`  ${name.padEnd(46)} ${(wall / 1000).toFixed(2)} s wall, main-thread CPU ${(cpu / count).toFixed(2)} ms per stage`);
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
