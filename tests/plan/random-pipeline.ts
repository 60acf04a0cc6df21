/**
 * Random pipelines and random edits for the property test "the plan predicts the run": a DAG of stages
 * whose output is a function of everything in their key (command, param, deps), so a stage whose key
 * changes writes new outputs and there is no early cutoff to guess at.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface StageModel {
  name: string;
  sources: string[];
  upstream: number[];
  version: number;
  param?: string;
}

export interface PipelineModel {
  stages: StageModel[];
  vars: Record<string, string>;
  /** source file -> every content it has had, the current one last */
  sources: Record<string, string[]>;
}

export type Edit = 'touch' | 'content' | 'revert' | 'delete-output' | 'edit-output' | 'param' | 'command';
export const EDITS: Edit[] = ['touch', 'content', 'revert', 'delete-output', 'edit-output', 'param', 'command'];

const SOURCES = ['src/a.txt', 'src/b.txt', 'src/c.txt'];

export const outOf = (s: StageModel): string => `out/${s.name}.txt`;

export function randomPipeline(random: () => number): PipelineModel {
  const n = 2 + Math.floor(random() * 6);
  const pick = <T>(items: T[], max: number): T[] => items.filter(() => random() < max / Math.max(items.length, 1));
  const stages: StageModel[] = [];
  const vars: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const param = random() < 0.4 ? `p${i}` : undefined;
    if (param) vars[param] = 'v0';
    stages.push({ name: `s${i}`, sources: pick(SOURCES, 1), upstream: pick([...Array(i).keys()], 1.5), version: 0, ...(param ? { param } : {}) });
  }
  return { stages, vars, sources: Object.fromEntries(SOURCES.map((s, i) => [s, [`source ${i}\n`]])) };
}

/** The command: prints its tag and param, then its deps. A fake runner (in-process) reads it back. */
function command(m: PipelineModel, s: StageModel): string {
  const deps = [...s.sources, ...s.upstream.map((u) => outOf(m.stages[u]!))];
  const words = [`${s.name}-v${s.version}`, ...(s.param ? [`\${${s.param}}`] : [])];
  return `printf '%s\\n' ${words.join(' ')} > ${outOf(s)}${deps.length ? ` && cat ${deps.join(' ')} >> ${outOf(s)}` : ''}`;
}

export function pipelineYaml(m: PipelineModel): string {
  const vars = Object.entries(m.vars).map(([k, v]) => `  ${k}: ${v}\n`).join('');
  const stages = m.stages.map((s) => {
    const deps = [...s.sources, ...s.upstream.map((u) => outOf(m.stages[u]!))];
    return `  ${s.name}:\n    cmd: "${command(m, s).replace(/\\/g, '\\\\')}"\n    deps: [${deps.join(', ')}]\n    outs: [${outOf(s)}]\n${s.param ? `    params: [${s.param}]\n` : ''}`;
  }).join('');
  return `version: 1\n${vars ? `vars:\n${vars}` : ''}stages:\n${stages}`;
}

export function writeProject(dir: string, m: PipelineModel): void {
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  for (const [file, contents] of Object.entries(m.sources)) writeFileSync(path.join(dir, file), contents.at(-1)!);
  writeFileSync(path.join(dir, 'pipeline.yaml'), pipelineYaml(m));
}

/** Applies one random edit of the given kind to the project on disk (and the model); returns what it did. */
export function applyEdit(dir: string, m: PipelineModel, edit: Edit, random: () => number): string {
  const choose = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const stage = choose(m.stages);
  switch (edit) {
    case 'touch': {
      const file = path.join(dir, choose(Object.keys(m.sources)));
      const later = new Date(Date.now() + 1000 + Math.floor(random() * 100_000));
      utimesSync(file, later, later);
      return `touch ${file}`;
    }
    case 'content': {
      const file = choose(Object.keys(m.sources));
      const content = `${file} edit ${Math.floor(random() * 1e9)}\n`;
      m.sources[file]!.push(content);
      writeFileSync(path.join(dir, file), content);
      return `edit ${file}`;
    }
    case 'revert': {
      const file = choose(Object.keys(m.sources));
      const content = choose(m.sources[file]!);
      m.sources[file]!.push(content);
      writeFileSync(path.join(dir, file), content);
      return `revert ${file}`;
    }
    case 'delete-output': {
      rmSync(path.join(dir, outOf(stage)), { force: true });
      return `delete ${outOf(stage)}`;
    }
    case 'edit-output': {
      const file = path.join(dir, outOf(stage));
      if (existsSync(file)) writeFileSync(file, `edited by hand ${Math.floor(random() * 1e9)}\n`);
      return `hand-edit ${outOf(stage)}`;
    }
    case 'param': {
      const withParam = m.stages.filter((s) => s.param);
      if (withParam.length === 0) return 'no param';
      const s = choose(withParam);
      m.vars[s.param!] = `v${Math.floor(random() * 3)}`;
      writeFileSync(path.join(dir, 'pipeline.yaml'), pipelineYaml(m));
      return `param ${s.param}=${m.vars[s.param!]}`;
    }
    case 'command': {
      stage.version = Math.floor(random() * 3);
      writeFileSync(path.join(dir, 'pipeline.yaml'), pipelineYaml(m));
      return `command ${stage.name} v${stage.version}`;
    }
  }
}

/** What the command above does, without a shell: the words on lines, then each dep's content. */
export function fakeCommand(root: string, cmd: string): void {
  const match = /^printf '%s\\n' (.+?) > (\S+)(?: && cat (.+) >> \S+)?$/.exec(cmd);
  if (!match) throw new Error(`not a command of the random pipeline: ${cmd}`);
  const [, words, out, deps] = match;
  const parts = [words!.split(' ').map((w) => w.replace(/^'|'$/g, '')).join('\n') + '\n'];
  for (const dep of deps ? deps.split(' ') : []) parts.push(readFileSync(path.join(root, dep), 'utf8'));
  writeFileSync(path.join(root, out!), parts.join(''));
}
