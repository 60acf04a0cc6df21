/**
 * `${}` expansion is bounded: a few hundred bytes of vars that refer to each other can not build 100 MB
 * strings (or run out of memory); the error names the file:line:col of the var or stage field, and the check
 * stops the expansion before the huge text exists (pipe runs here with a 96 MB heap).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { pipeSync, removeProject, stackLines, tempProject } from './helpers.js';

const dir = tempProject('expansion');
afterAll(() => removeProject(dir));
const SMALL_HEAP = { NODE_OPTIONS: '--max-old-space-size=96' };

/** a: 100 bytes; each next var is ten of the one before: `levels` vars deep, placed where `use` says. */
function nestedVars(levels: number, use: (last: string) => string[]): string {
  const names = 'abcdefghijklmnop'.slice(0, levels + 1).split('');
  const lines = ['version: 1', 'vars:', `  a: "${'x'.repeat(100)}"`];
  for (let i = 1; i < names.length; i++) lines.push(`  ${names[i]}: "${`\${${names[i - 1]}}`.repeat(10)}"`);
  return [...lines, 'stages:', '  s:', ...use(names[names.length - 1]!)].join('\n') + '\n';
}

function validate(yaml: string, env: Record<string, string> = SMALL_HEAP) {
  writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
  return pipeSync(dir, ['validate'], env, 30_000);
}

describe('expansion limits', () => {
  test.each([6, 7, 9, 12])('vars nested %i levels (x10 each): exit 2 at the var, no crash, bounded memory', (levels) => {
    const r = validate(nestedVars(levels, (last) => [`    cmd: echo \${${last}}`]));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+: interpolation expands this string to more than 1 MB/);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(r.stderr).not.toContain('internal error');
  });

  test('a bomb placed in a stage field is located at that field', () => {
    const yaml = ['version: 1', 'vars:', `  a: "${'y'.repeat(1000)}"`, 'stages:', '  s:', `    cmd: "echo ${'${a}'.repeat(2000)}"`].join('\n') + '\n';
    const r = validate(yaml);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('pipeline.yaml:6:10: interpolation expands this string to more than 1 MB');
  });

  test('lists placed in lists (shared in memory, huge once written out) hit the total limit', () => {
    const lines = ['version: 1', 'vars:', `  a: [${Array(10).fill(`"${'x'.repeat(100)}"`).join(', ')}]`];
    const names = 'abcdefghij'.split('');
    for (let i = 1; i < names.length; i++) lines.push(`  ${names[i]}: [${Array(10).fill(`"\${${names[i - 1]}}"`).join(', ')}]`);
    lines.push('stages:', '  s:', '    cmd: echo hi', '    deps: ["${j}"]');
    const r = validate(lines.join('\n') + '\n');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+: interpolation expands the pipeline to more than 128 MB in all/);
  });

  test('below the limits all is as before: a 500 KB value placed once, a 100,000-item list placed in deps', () => {
    const big = Array.from({ length: 100_000 }, (_, i) => `    - in/f${i}.txt`);
    const yaml = ['version: 1', 'vars:', `  a: "${'z'.repeat(500_000)}"`, '  files:', ...big, 'stages:', '  s:', '    cmd: echo ${a}', '    deps: ["${files}"]'].join('\n') + '\n';
    const r = validate(yaml, {}); // a normal heap: 100,000 items take more than 96 MB whatever the limits
    expect(r.code, r.stderr).toBe(0);
  });
});
