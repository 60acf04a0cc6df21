/**
 * The crash harness's pipeline: a few dozen stages over a handful of source files, deterministic outputs
 * (so a final run can be compared byte for byte with a reference run), of several kinds:
 *   cat   concatenates its deps and its own name
 *   slow  the same after `sleep 0.05`
 *   big   a multi-MB output (head -c) that a kill can tear
 *   dir   a folder of several files
 *   fail  fails when the var `fail` names it
 *   long  `sleep 0.3`, so kills often land while it runs (orphan check)
 * Every stage appends its shell's pid to pids/NAME, for the no-process-left check.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export type Kind = 'cat' | 'slow' | 'big' | 'dir' | 'fail' | 'long';

export interface CrashStage {
  name: string;
  kind: Kind;
  deps: string[];
  out: string;
}

export const SOURCES = ['src/a.txt', 'src/b.txt', 'src/c.txt', 'src/d.txt'];

/** A fixed shape (the seed of the harness varies the kill points and the edits, not the graph). */
export function crashStages(count = 32): CrashStage[] {
  const kinds: Kind[] = ['cat', 'slow', 'big', 'cat', 'dir', 'fail', 'slow', 'cat'];
  const stages: CrashStage[] = [];
  for (let i = 0; i < count; i++) {
    const kind: Kind = i === 11 ? 'long' : kinds[i % kinds.length]!;
    const name = `s${String(i).padStart(2, '0')}`;
    const upstream = stages.filter((s) => s.kind !== 'dir');
    const deps = i < 4 ? [SOURCES[i]!] : [pick(upstream, i * 7 + 3).out, i % 3 === 0 ? SOURCES[i % 4]! : pick(upstream, i * 13 + 5).out];
    stages.push({ name, kind, deps: [...new Set(deps)], out: kind === 'dir' ? `out/${name}` : `out/${name}.txt` });
  }
  return stages;
}

function pick<T>(items: T[], n: number): T {
  return items[n % items.length]!;
}

function command(s: CrashStage): string {
  const pid = `echo $$ >> pids/${s.name}`;
  const cat = `cat ${s.deps.join(' ')}`;
  switch (s.kind) {
    case 'cat':
      return `${pid}; { ${cat}; echo ${s.name}; } > ${s.out}`;
    case 'slow':
      return `${pid}; sleep 0.05; { ${cat}; echo ${s.name}; } > ${s.out}`;
    case 'long':
      return `${pid}; sleep 0.3; { ${cat}; echo ${s.name}; } > ${s.out}`;
    case 'big':
      // the deps first, then 3 MB written in pieces, so a kill can leave a torn file
      return `${pid}; { ${cat}; head -c 3000000 /dev/zero | tr '\\0' '${s.name.slice(-1)}'; echo ${s.name}; } > ${s.out}`;
    case 'dir':
      return `${pid}; mkdir -p ${s.out} && ${cat} > ${s.out}/all && head -c 200000 /dev/urandom > /dev/null && for p in 1 2 3; do { echo $p; ${cat}; } > ${s.out}/part$p; done`;
    case 'fail':
      return `${pid}; if [ \${fail} = ${s.name} ]; then echo failing on purpose >&2; exit 3; fi; { ${cat}; echo ${s.name}; } > ${s.out}`;
  }
}

/** `PIPE_CRASH_LINK` (reflink, hardlink, copy) runs the harness with that `cache.link`; default: none declared. */
export function crashPipelineYaml(stages: CrashStage[], link = process.env.PIPE_CRASH_LINK): string {
  const lines = ['version: 1', 'vars:', '  fail: none', ...(link ? ['cache:', `  link: ${link}`] : []), 'stages:'];
  for (const s of stages) {
    lines.push(`  ${s.name}:`);
    lines.push(`    cmd: ${JSON.stringify(command(s))}`);
    lines.push(`    deps: [${s.deps.join(', ')}]`);
    lines.push(`    outs: [${s.out}]`);
  }
  return lines.join('\n') + '\n';
}

/** Source file contents: a few variants per file, so edits move back and forth (restores from the run-cache). */
export function sourceVariant(file: string, variant: number): string {
  return `${file} variant ${variant}\n`.repeat(1 + variant);
}

export function writeCrashProject(dir: string, stages: CrashStage[], variants: number[]): void {
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  mkdirSync(path.join(dir, 'pids'), { recursive: true });
  writeFileSync(path.join(dir, 'pipeline.yaml'), crashPipelineYaml(stages));
  setSources(dir, variants);
}

export function setSources(dir: string, variants: number[]): void {
  SOURCES.forEach((file, i) => writeFileSync(path.join(dir, file), sourceVariant(file, variants[i] ?? 0)));
}
