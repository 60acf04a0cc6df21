/**
 * Seeded fuzzing of the pipeline loader: mutations of valid files (byte flips, line deletions, duplications,
 * swaps, type swaps, YAML-significant insertions). Every case either loads (and its graph builds) or throws a
 * UserError; anything else, or a case slower than a second, fails the test. In-process through dist/ for
 * speed, plus a sample through the CLI.
 *   PIPE_FUZZ_CASES  in-process cases (default 2000)   PIPE_FUZZ_SEED  the seed (default 1)
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { crashPipelineYaml, crashStages } from './crash-pipeline.js';
import { envInt, pipeSync, REPO, removeProject, seededRandom, stackLines, tempProject } from './helpers.js';

const CASES = envInt('PIPE_FUZZ_CASES', 2000);
const CLI_CASES = envInt('PIPE_FUZZ_CLI_CASES', 10);
const SEED = envInt('PIPE_FUZZ_SEED', 1);
const SLOW_CASE_MS = 1000;

const { loadPipeline } = (await import(path.join(REPO, 'dist/pipeline/load.js'))) as typeof import('../../src/pipeline/load.js');
const { buildGraph } = (await import(path.join(REPO, 'dist/graph/build.js'))) as typeof import('../../src/graph/build.js');
const { UserError } = (await import(path.join(REPO, 'dist/util/errors.js'))) as typeof import('../../src/util/errors.js');

const SMALL_SEED = `version: 1
vars:
  media: samples/demo.mp4
  films: [a.mp4, b.mp4]
  langs: &langs [en, es]
  profile: offline
  nested: {model: {name: tiny, size: 3}}
env:
  LOG_LEVEL: info
groups:
  default: [mux]
  all: ["*"]
stages:
  demux:
    foreach: films
    cmd: ffmpeg -y -i \${item} wav/\${job}.wav
    deps: ["\${item}"]
    outs: ["wav/\${job}.wav"]
    params: [profile]
    resources: {cpu: 2, mem: 512M}
  asr:
    when: {profile: [offline, cpu]}
    cmd: [asr, --model, "\${nested.model.name}", --langs, "\${langs}"]
    deps: [wav]
    outs: [out/words.json]
    needs: [demux]
    env: {THREADS: 2}
  cache:tiny:
    fetch: {hf: org/tiny, revision: 0123456789abcdef0123456789abcdef01234567}
  mux:
    cmd: mux out/words.json > out/film.mkv
    deps: [out/words.json, "data/**/*.txt"]
    outs: [out/film.mkv]
    needs: [cache:tiny]
    log: logs/mux.log
`;

const TOKENS = ['&a', '*a', '${', '${media}', '}', ':', ': ', '- ', '\t', '[', ']', '{', '}', '"', "'", '#', '|', '>', '!!str ', '!!binary ', '<<: *langs', '---', '...', '%YAML 1.1', '\\u0000', '\u00e9', '../', '/etc', '*', '?', ' '];
const VALUES = ['[]', '{}', '123', '-1', '1.5', 'null', '~', 'true', '"x"', '""', "''", '[[[]]]', '{a: {b: {c: []}}}', '*langs', '${nested}', '${films}', '0x10', '.inf', '2G', 'lots'];

type Mutation = (lines: string[], random: () => number) => void;

const at = (lines: string[], random: () => number) => Math.floor(random() * lines.length);

const MUTATIONS: Record<string, Mutation> = {
  flipByte(lines, random) {
    const i = at(lines, random);
    const line = lines[i]!;
    if (!line.length) return;
    const j = Math.floor(random() * line.length);
    lines[i] = line.slice(0, j) + String.fromCharCode(line.charCodeAt(j) ^ (1 << Math.floor(random() * 7))) + line.slice(j + 1);
  },
  deleteLine(lines, random) {
    lines.splice(at(lines, random), 1);
  },
  duplicateLine(lines, random) {
    const i = at(lines, random);
    lines.splice(i, 0, lines[i]!);
  },
  swapLines(lines, random) {
    const i = at(lines, random);
    const j = at(lines, random);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  },
  swapType(lines, random) {
    const i = at(lines, random);
    const m = /^(\s*(?:- )?[^:#]+:\s*)(.+)$/.exec(lines[i]!);
    if (m) lines[i] = m[1] + VALUES[Math.floor(random() * VALUES.length)]!;
  },
  insertToken(lines, random) {
    const i = at(lines, random);
    const line = lines[i]!;
    const j = Math.floor(random() * (line.length + 1));
    lines[i] = line.slice(0, j) + TOKENS[Math.floor(random() * TOKENS.length)]! + line.slice(j);
  },
  reindent(lines, random) {
    const i = at(lines, random);
    lines[i] = random() < 0.5 ? ' ' + lines[i] : lines[i]!.replace(/^ {1,2}/, '');
  },
};

export function mutate(text: string, random: () => number): { text: string; applied: string[] } {
  const lines = text.split('\n');
  const names = Object.keys(MUTATIONS);
  const applied: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let k = 0; k < count; k++) {
    const name = names[Math.floor(random() * names.length)]!;
    MUTATIONS[name]!(lines, random);
    applied.push(name);
  }
  return { text: lines.join('\n'), applied };
}

const root = tempProject('fuzz');
mkdirSync(path.join(root, 'config'), { recursive: true });
copyFileSync(path.join(REPO, 'config/models.yaml'), path.join(root, 'config/models.yaml'));
afterAll(() => removeProject(root));

const seeds: Record<string, string> = {
  small: SMALL_SEED,
  crash: crashPipelineYaml(crashStages(12)),
  repo: readFileSync(path.join(REPO, 'pipeline.yaml'), 'utf8'),
};

function loadOnce(file: string): 'loaded' | 'rejected' {
  try {
    buildGraph(loadPipeline({ file }).pipeline);
    return 'loaded';
  } catch (err) {
    if (err instanceof UserError) return 'rejected';
    throw err;
  }
}

describe(`fuzzing the loader (seed ${SEED})`, () => {
  test('every seed file is valid as it is', () => {
    for (const [name, text] of Object.entries(seeds)) {
      writeFileSync(path.join(root, `${name}.yaml`), text);
      expect(loadOnce(path.join(root, `${name}.yaml`)), name).toBe('loaded');
    }
  });

  test(`${CASES} mutated files in-process: only UserErrors, no case slower than ${SLOW_CASE_MS} ms`, () => {
    const random = seededRandom(SEED);
    const seedNames = Object.keys(seeds);
    const tally = { loaded: 0, rejected: 0 };
    const file = path.join(root, 'pipeline.yaml');
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      // the big repo file is 20x slower to load: one case in twenty uses it
      const seedName = random() < 0.05 ? 'repo' : seedNames[Math.floor(random() * 2)]!;
      const { text, applied } = mutate(seeds[seedName]!, random);
      writeFileSync(file, text);
      const started = performance.now();
      let outcome: 'loaded' | 'rejected';
      try {
        outcome = loadOnce(file);
      } catch (err) {
        writeFileSync(path.join(root, `failing-case-${i}.yaml`), text);
        throw new Error(`case ${i} (${seedName}: ${applied.join(', ')}) threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}\n(kept in ${root}/failing-case-${i}.yaml)`);
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      expect(ms, `case ${i} (${seedName}: ${applied.join(', ')})`).toBeLessThan(SLOW_CASE_MS);
      tally[outcome]++;
    }
    console.log(`fuzz: ${CASES} cases (seed ${SEED}): ${tally.rejected} rejected with a UserError, ${tally.loaded} still valid; slowest ${slowest.toFixed(0)} ms`);
    expect(tally.rejected).toBeGreaterThan(CASES / 4);
  }, 120_000);

  test(`${CLI_CASES} mutated files through the CLI: exit 0 or 2, no stack trace`, () => {
    const random = seededRandom(SEED + 1000);
    const file = path.join(root, 'pipeline.yaml');
    for (let i = 0; i < CLI_CASES; i++) {
      const { text, applied } = mutate(seeds[random() < 0.5 ? 'small' : 'crash']!, random);
      writeFileSync(file, text);
      const r = pipeSync(root, ['validate'], {}, 20_000);
      expect([0, 2], `CLI case ${i} (${applied.join(', ')}): ${r.stderr}`).toContain(r.code);
      expect(stackLines(r.stdout + r.stderr)).toEqual([]);
    }
  }, 120_000);
});
