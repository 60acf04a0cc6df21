/**
 * The stored form of a compiled pipeline (compiled-format.ts) reads back exactly as the pipeline was loaded:
 * the same values, the same key order, the same graph; and it is smaller than the pipeline as JSON.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { packPipeline, unpackPipeline } from '../../src/compiled-format.js';
import { buildGraph } from '../../src/graph/build.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import type { Pipeline } from '../../src/pipeline/types.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const YAML = `version: 1
vars:
  langs: [en, de]
  lr: 0.1
env:
  TOP: "1"
stages:
  plain:
    cmd: cat in.txt > a.txt
    deps: [in.txt]
    outs: [a.txt]
  rich:
    cmd: [sh, -c, 'cat a.txt > b.txt']
    deps: [a.txt]
    outs: [b.txt]
    params: [lr]
    env: {OMP_NUM_THREADS: "2"}
    resources: {cpu: 2, mem: 1GB}
    needs: [plain]
  each:
    foreach: langs
    cmd: echo \${item} > out/\${item}.txt
    outs: ["out/\${item}.txt"]
`;

function loaded(): { pipeline: Pipeline; graph: ReturnType<typeof buildGraph> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-compiled-format-'));
  dirs.push(dir);
  const file = path.join(dir, 'pipeline.yaml');
  writeFileSync(file, YAML);
  const { pipeline } = loadPipeline({ file, sets: {} });
  return { pipeline, graph: buildGraph(pipeline) };
}

const roundTrip = (p: Pipeline, g: ReturnType<typeof buildGraph>) => unpackPipeline(JSON.parse(JSON.stringify(packPipeline(p, g))));

describe('compiled format', () => {
  test('a loaded pipeline and its graph read back identical, key order included', () => {
    const { pipeline, graph } = loaded();
    const back = roundTrip(pipeline, graph);
    expect(back).toBeDefined();
    expect(JSON.stringify(back!.pipeline)).toBe(JSON.stringify(pipeline));
    expect(back!.pipeline).toEqual(pipeline);
    expect(back!.graph).toEqual(graph);
    expect(Object.keys(back!.graph.upstream)).toEqual(Object.keys(graph.upstream));
  });

  test('defaults are stored as 0 and the stages of the main file without it', () => {
    const { pipeline, graph } = loaded();
    const packed = JSON.stringify(packPipeline(pipeline, graph));
    expect(packed.length).toBeLessThan(JSON.stringify({ pipeline, graph }).length * 0.8);
    const plain = (JSON.parse(packed).pipeline.stages as Record<string, unknown>[]).find((s) => s.name === 'plain')!;
    expect(plain).toMatchObject({ params: 0, needs: 0, env: 0, resources: 0, loc: [expect.any(Number), expect.any(Number)] });
  });

  test('a stage located in another file keeps its file', () => {
    const { pipeline, graph } = loaded();
    pipeline.stages[1]!.loc = { file: 'more.yaml', line: 4, col: 3 };
    expect(roundTrip(pipeline, graph)!.pipeline.stages[1]!.loc).toEqual({ file: 'more.yaml', line: 4, col: 3 });
  });

  test.each([
    ['a graph index out of range', (v: any) => void (v.graph.upstream[1] = [99])],
    ['an order of the wrong length', (v: any) => void v.graph.order.pop()],
    ['a stage that is not an object', (v: any) => void (v.pipeline.stages[0] = 7)],
    ['a stage without deps', (v: any) => void delete v.pipeline.stages[0].deps],
    ['no locFile', (v: any) => void delete v.locFile],
  ])('%s is not read', (_, spoil) => {
    const { pipeline, graph } = loaded();
    const value = JSON.parse(JSON.stringify(packPipeline(pipeline, graph)));
    spoil(value);
    expect(unpackPipeline(value)).toBeUndefined();
  });
});
