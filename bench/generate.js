#!/usr/bin/env node
// @ts-check
// Generates one layered `cat` graph and writes it for pipe, ninja, make and snakemake.
//
// Usage: node bench/generate.js N DIR [--layers L]
//
// Every stage `cat`s its inputs into out/<stage>.txt. Layer 0 reads one generated source
// file each; every later stage reads two outputs of the layer before. The depth is fixed
// (10 layers by default) and the width grows with N, because each `cat` of two files
// doubles the size: 100 layers of width 100 would need 2^100 bytes in the last layer.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_LAYERS = 10;

/**
 * @typedef {{ name: string, inputs: string[], output: string }} Stage
 * @typedef {{ stages: Stage[], sources: string[], width: number, layers: number }} Graph
 */

/**
 * The second input of stage (layer, index): a pseudo-random index of the layer before,
 * never the stage's own index, and the same on every run.
 * @param {number} layer
 * @param {number} index
 * @param {number} width
 */
export function partnerIndex(layer, index, width) {
  if (width < 2) return index;
  const offset = 1 + ((layer * 7919 + index * 104729) % (width - 1));
  return (index + offset) % width;
}

/** @param {number} layer @param {number} index */
const stageName = (layer, index) => `s_${layer}_${index}`;
/** @param {string} name */
const outputOf = (name) => `out/${name}.txt`;

/**
 * @param {number} stageCount
 * @param {number} [layers]
 * @returns {Graph}
 */
export function layeredGraph(stageCount, layers = DEFAULT_LAYERS) {
  const width = Math.max(1, Math.ceil(stageCount / layers));
  const sources = Array.from({ length: width }, (_, i) => `src/${i}.txt`);
  /** @type {Stage[]} */
  const stages = [];
  for (let layer = 0; stages.length < stageCount; layer++) {
    for (let index = 0; index < width && stages.length < stageCount; index++) {
      const name = stageName(layer, index);
      const inputs =
        layer === 0
          ? [sources[index]]
          : [index, partnerIndex(layer, index, width)].map((i) => outputOf(stageName(layer - 1, i)));
      stages.push({ name, inputs, output: outputOf(name) });
    }
  }
  return { stages, sources, width, layers: Math.ceil(stageCount / width) };
}

/** @param {Stage} stage */
const catCommand = (stage) => `cat ${stage.inputs.join(' ')} > ${stage.output}`;

/** @param {Graph} graph */
export function pipelineYaml(graph) {
  const lines = ['version: 1', 'stages:'];
  for (const stage of graph.stages) {
    lines.push(
      `  ${stage.name}:`,
      `    cmd: ${catCommand(stage)}`,
      `    deps: [${stage.inputs.join(', ')}]`,
      `    outs: [${stage.output}]`,
    );
  }
  return lines.join('\n') + '\n';
}

/** @param {Graph} graph */
export function buildNinja(graph) {
  const lines = ['rule cat', '  command = cat $in > $out', ''];
  for (const stage of graph.stages) lines.push(`build ${stage.output}: cat ${stage.inputs.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** @param {Graph} graph */
export function makefile(graph) {
  // A plain Makefile; the `make-r` peer runs it with --no-builtin-rules.
  const lines = ['.PHONY: all'];
  lines.push(`all: ${graph.stages.map((s) => s.output).join(' ')}`, '');
  for (const stage of graph.stages) lines.push(`${stage.output}: ${stage.inputs.join(' ')}`, '\tcat $^ > $@');
  return lines.join('\n') + '\n';
}

/** One wildcard rule with an input function: how a Snakemake user writes a generated graph. */
/** @param {Graph} graph */
export function snakefile(graph) {
  const entries = graph.stages.map((s) => `    ${JSON.stringify(s.name)}: ${JSON.stringify(s.inputs)},`);
  return [
    'INPUTS = {',
    ...entries,
    '}',
    '',
    'wildcard_constraints:',
    '    name="s_[0-9]+_[0-9]+"',
    '',
    'rule all:',
    '    input: [f"out/{name}.txt" for name in INPUTS]',
    '',
    'rule stage:',
    '    input: lambda w: INPUTS[w.name]',
    '    output: "out/{name}.txt"',
    '    shell: "cat {input} > {output}"',
    '',
  ].join('\n');
}

/**
 * Writes the sources and the four build files into dir (created if missing).
 * @param {number} stageCount
 * @param {string} dir
 * @param {{ layers?: number }} [options]
 */
export function generate(stageCount, dir, options = {}) {
  const graph = layeredGraph(stageCount, options.layers);
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  graph.sources.forEach((source, i) => writeFileSync(join(dir, source), `source ${i}\n`));
  writeFileSync(join(dir, 'pipeline.yaml'), pipelineYaml(graph));
  writeFileSync(join(dir, 'build.ninja'), buildNinja(graph));
  writeFileSync(join(dir, 'Makefile'), makefile(graph));
  writeFileSync(join(dir, 'Snakefile'), snakefile(graph));
  return graph;
}

function main() {
  const [countArg, dir, flag, layersArg] = process.argv.slice(2);
  const count = Number(countArg);
  if (!Number.isInteger(count) || count < 1 || !dir) {
    console.error('usage: node bench/generate.js N DIR [--layers L]');
    process.exit(2);
  }
  const layers = flag === '--layers' ? Number(layersArg) : DEFAULT_LAYERS;
  const graph = generate(count, dir, { layers });
  console.log(`${graph.stages.length} stages, ${graph.layers} layers of width ${graph.width} in ${dir}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
