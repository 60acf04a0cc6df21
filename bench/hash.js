#!/usr/bin/env node
// Digest benchmark: throughput on a large page-cached file and per-call cost on many tiny files.
//
//   npx tsc && node bench/hash.js [--size-mib 1024] [--tiny 10000] [--file PATH]
//
// Candidates that are not installed in the project are looked up in $HASH_BENCH_NODE_MODULES
// (a scratch `npm install` folder), else reported as "not installed".
// Run it pinned to one core for the figures in docs/hashing.md:  taskset -c 0 node bench/hash.js
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CHUNK = 4 << 20;

function parseArgs(argv) {
  const opts = { sizeMib: 1024, tiny: 10_000, file: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--size-mib') opts.sizeMib = Number(argv[++i]);
    else if (argv[i] === '--tiny') opts.tiny = Number(argv[++i]);
    else if (argv[i] === '--file') opts.file = argv[++i];
  }
  return opts;
}

async function importOptional(name) {
  try {
    return await import(name);
  } catch {
    const extra = process.env.HASH_BENCH_NODE_MODULES;
    if (!extra) return undefined;
    try {
      const req = createRequire(path.join(path.resolve(extra), '..', 'noop.js'));
      return await import(pathToFileURL(req.resolve(name)).href);
    } catch {
      return undefined;
    }
  }
}

/** Each candidate: bits, kind, and a factory giving {update(buf), digest()} per file. */
async function loadCandidates() {
  const list = [];
  const crypto = (alg, bits) => ({
    name: `node:crypto ${alg}`, bits, kind: 'OpenSSL (native)',
    make: () => { const h = createHash(alg); return { update: (b) => h.update(b), digest: () => h.digest('hex') }; },
  });
  list.push(crypto('sha256', 256), crypto('sha512', 512), crypto('sha512-256', 256), crypto('blake2b512', 512),
    crypto('blake2s256', 256), crypto('sha1', 160), crypto('md5', 128));

  const hw = await importOptional('hash-wasm');
  if (hw) {
    const blake3 = await hw.createBLAKE3();
    const x128 = await hw.createXXHash128();
    const x3 = await hw.createXXHash3();
    const wasm = (name, bits, h) => ({
      name, bits, kind: 'wasm (hash-wasm 4.13)',
      make: () => { h.init(); return { update: (b) => h.update(b), digest: () => h.digest('hex') }; },
    });
    list.push(wasm('hash-wasm blake3', 256, blake3), wasm('hash-wasm xxh128', 128, x128), wasm('hash-wasm xxh3-64', 64, x3));
  } else list.push({ name: 'hash-wasm', missing: true });

  const nrs = await importOptional('@node-rs/xxhash');
  if (nrs) {
    const { xxh3 } = nrs.default ?? nrs;
    list.push({
      // no streaming 128-bit API: one-shot per 4 MiB chunk, then xxh128 over the chunk digests
      name: '@node-rs/xxhash xxh128 (chunked)', bits: 128, kind: 'napi (native)',
      make: () => {
        const parts = [];
        return {
          update: (b) => parts.push(xxh3.xxh128(b).toString(16).padStart(32, '0')),
          digest: () => (parts.length === 1 ? parts[0] : xxh3.xxh128(parts.join('')).toString(16)),
        };
      },
    });
    list.push({
      name: '@node-rs/xxhash xxh3-64 stream', bits: 64, kind: 'napi (native)',
      make: () => { const h = xxh3.Xxh3.withSeed(); return { update: (b) => h.update(b), digest: () => h.digest().toString(16) }; },
    });
  } else list.push({ name: '@node-rs/xxhash', missing: true });

  const xw = await importOptional('xxhash-wasm');
  if (xw) {
    const api = await (xw.default ?? xw)();
    list.push({
      name: 'xxhash-wasm h64', bits: 64, kind: 'wasm',
      make: () => { const h = api.create64(); return { update: (b) => h.update(b), digest: () => h.digest().toString(16) }; },
    });
  } else list.push({ name: 'xxhash-wasm', missing: true });
  return list;
}

function ensureBigFile(file, sizeMib) {
  if (fs.existsSync(file) && fs.statSync(file).size === sizeMib * 2 ** 20) return;
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < (sizeMib * 2 ** 20) / CHUNK; i++) fs.writeSync(fd, randomBytes(CHUNK));
  fs.closeSync(fd);
}

function randomBytes(n) {
  // cheap pseudo-random content; the digests do not care, compression does not apply
  const a = new Uint32Array(n / 4);
  let x = 0x9e3779b9 ^ (Math.random() * 2 ** 32);
  for (let i = 0; i < a.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; a[i] = x; }
  return new Uint8Array(a.buffer);
}

function readLoop(file, onChunk) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, CHUNK, pos);
    if (n === 0) break;
    onChunk(n === CHUNK ? buf : buf.subarray(0, n));
    pos += n;
  }
  fs.closeSync(fd);
  return pos;
}

function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, r };
}

function benchBig(c, file) {
  const { ms, r: bytes } = timeIt(() => {
    const h = c.make();
    const n = readLoop(file, (b) => h.update(b));
    h.digest();
    return n;
  });
  return bytes / (ms / 1000) / 1e9;
}

function makeTinyFiles(dir, count) {
  fs.mkdirSync(dir, { recursive: true });
  const files = [];
  for (let i = 0; i < count; i++) {
    const f = path.join(dir, `f${i}.txt`);
    if (!fs.existsSync(f)) fs.writeFileSync(f, `tiny file number ${String(i).padStart(6, '0')}\n`.slice(0, 20));
    files.push(f);
  }
  return files;
}

function benchTiny(c, files, contents) {
  const digestOnly = timeIt(() => { for (const b of contents) { const h = c.make(); h.update(b); h.digest(); } }).ms;
  const withRead = timeIt(() => { for (const f of files) { const h = c.make(); h.update(fs.readFileSync(f)); h.digest(); } }).ms;
  return { usPerDigest: (digestOnly * 1000) / contents.length, msReadAndHash: withRead };
}

function pad(s, n) { return String(s).padEnd(n); }

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipe-hash-bench-'));
  const file = opts.file ?? path.join(os.tmpdir(), `pipe-hash-bench-${opts.sizeMib}m.bin`);
  if (!opts.file) ensureBigFile(file, opts.sizeMib);
  readLoop(file, () => {}); // warm the page cache
  const readOnly = timeIt(() => readLoop(file, () => {}));
  const readGBs = readOnly.r / (readOnly.ms / 1000) / 1e9;
  const files = makeTinyFiles(path.join(tmp, 'tiny'), opts.tiny);
  const contents = files.map((f) => fs.readFileSync(f));

  console.log(`node ${process.version}, ${os.cpus()[0]?.model}, file ${(fs.statSync(file).size / 2 ** 30).toFixed(2)} GiB in page cache, ${CHUNK >> 20} MiB reads`);
  console.log(`plain read (no hashing): ${readGBs.toFixed(2)} GB/s\n`);
  console.log(`${pad('digest', 36)}${pad('bits', 6)}${pad('impl', 22)}${pad('GB/s (read+hash)', 18)}${pad('µs/digest 20 B', 16)}ms for ${opts.tiny} tiny files (read+hash)`);
  for (const c of await loadCandidates()) {
    if (c.missing) { console.log(`${pad(c.name, 36)}not installed`); continue; }
    benchBig(c, file); // warm-up (JIT, wasm tier-up)
    const gbs = Math.max(benchBig(c, file), benchBig(c, file));
    const tiny = benchTiny(c, files, contents);
    console.log(`${pad(c.name, 36)}${pad(c.bits, 6)}${pad(c.kind, 22)}${pad(gbs.toFixed(2), 18)}${pad(tiny.usPerDigest.toFixed(2), 16)}${tiny.msReadAndHash.toFixed(0)}`);
  }
  await benchEngine(file, tmp);
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** The engine's own code, when dist/ is built: big-file throughput and the stat cache at 30k entries. */
async function benchEngine(file, tmp) {
  let mod;
  try { mod = await import(new URL('../dist/hash/index.js', import.meta.url).href); } catch { return; }
  const cacheFile = path.join(tmp, 'stat-cache');
  const big = new mod.StatCache(cacheFile);
  let t0 = performance.now();
  await big.hash(file);
  console.log(`\nengine StatCache.hash (${mod.DIGEST_NAME}, async double-buffered reads, 2 cores): ${(fs.statSync(file).size / ((performance.now() - t0) / 1000) / 1e9).toFixed(2)} GB/s`);

  const n = 30_000;
  const root = path.join(tmp, 'many');
  const paths = [];
  for (let i = 0; i < n; i++) {
    const d = path.join(root, `stage-${i % 100}`);
    if (i < 100) fs.mkdirSync(d, { recursive: true });
    paths.push(path.join(d, `out-${i}.txt`));
    fs.writeFileSync(paths[i], `output ${i}`);
  }
  await new Promise((r) => setTimeout(r, 50));
  const cold = new mod.StatCache(cacheFile, { racyWindowMs: 10 });
  t0 = performance.now();
  for (const p of paths) await cold.hash(p);
  const hashMs = performance.now() - t0;
  t0 = performance.now();
  cold.save();
  const saveMs = performance.now() - t0;
  const bytes = fs.statSync(cacheFile).size;

  const warm = new mod.StatCache(cacheFile, { racyWindowMs: 10 });
  t0 = performance.now();
  warm.peek(paths[0]);
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  let hits = 0;
  for (const p of paths) if (warm.peek(p)) hits++;
  const peekMs = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < 100; i++) warm.peek(path.join(root, `stage-${i}`));
  const dirPeekMs = performance.now() - t0;
  t0 = performance.now();
  for (const p of paths) fs.statSync(p, { bigint: true });
  const statMs = performance.now() - t0;

  const asJson = JSON.stringify(Object.fromEntries(fs.readFileSync(cacheFile, 'utf8').split('\n').slice(1, -1)
    .map((l) => l.split('\t')).map(([p, key, hash]) => [p, { key, hash }])));
  t0 = performance.now();
  new Map(Object.entries(JSON.parse(asJson)));
  const jsonMs = performance.now() - t0;

  console.log(`stat cache, ${n} files: first hash ${hashMs.toFixed(0)} ms; save ${saveMs.toFixed(1)} ms (${(bytes / 1e6).toFixed(2)} MB);` +
    ` load ${loadMs.toFixed(1)} ms (same data as JSON: parse ${jsonMs.toFixed(1)} ms, ${(asJson.length / 1e6).toFixed(2)} MB)`);
  console.log(`no-op check: peek of ${n} files ${peekMs.toFixed(1)} ms (${hits} hits); peek of the 100 folders holding them ${dirPeekMs.toFixed(1)} ms;` +
    ` bare statSync of the ${n} files ${statMs.toFixed(1)} ms`);
}

await main();
