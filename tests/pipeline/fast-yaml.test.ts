/**
 * The fast YAML path (js-yaml) gives the value the yaml package gives (YAML 1.2 core, as source.ts reads it),
 * or declines; and the common shapes of a pipeline file do take it.
 */
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { fastYamlValue } from '../../src/pipeline/fast-yaml.js';
import { parseYamlSource } from '../../src/pipeline/source.js';
import { stageSections } from '../../src/pipeline/sections.js';
import { PipelineError } from '../../src/util/errors.js';

function fullValue(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true, resolveKnownTags: false });
  return doc.errors.length ? 'invalid' : doc.toJS();
}

const taken = [
  'version: 1\nstages:\n  a:\n    cmd: cat in.txt > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
  'a: [1, 0x1F, 0o17, 1e3, .5, -.inf, .NaN, true, False, NULL, ~, 012, +3, 1_000, 0b1, 1., -0, 0x, yes, no, on]',
  'a: 2001-12-14\nb: "\\u00e9"\nc: \'it\'\'s\'\nd: |\n  x\n  y\ne: >-\n  folded\n  text\n',
  'k: v # comment\nl:\n- b\n- {c: d}\nm:\n',
  '__proto__: 1\nconstructor: {}\n"null": quoted',
  'vars:\n  items:\n    - a.wav\n    - "b c.wav"\nstages:\n  x@y:\n    cmd: [echo, "${item}"]\n',
];

const declined = [
  ': x', '? a\n: b', 'a: !!str 3', 'a: ! 3', 'a: !foo 3', 'a: &x 1\nb: *x', 'a: *x', 'null: 1', '~: 1', 'x:\n  null: 1',
  '%YAML 1.1\n---\na: yes', 'a: 1\na: 2', '1: a\n1.0: b', '[a]: 1', 'x: {[a]: 1}', '{a: 1}: x', '---\na: 1\n---\nb: 2',
  'a: b: c', 'a: "x" y', 'a:\n\tb: 1', 'a: [1, 2', '',
];

describe('fast YAML path', () => {
  test.each(taken)('takes %j, with the yaml package\'s value', (text) => {
    const fast = fastYamlValue(text);
    expect(fast).not.toBeUndefined();
    expect(fast).toEqual(fullValue(text));
  });

  test.each(declined)('declines %j (the full parser decides)', (text) => {
    expect(fastYamlValue(text)).toBeUndefined();
  });

  test('a value from the fast path still gives located errors (the Document is parsed when asked)', () => {
    const stages = Array.from({ length: 300 }, (_, i) => `  s${i}:\n    cmd: echo ${i}\n`).join('');
    const src = parseYamlSource(`version: 1\nstages:\n${stages}`, 'big.yaml');
    expect(src.value).toMatchObject({ stages: { s299: { cmd: 'echo 299' } } });
    expect(src.lines.linePos(src.text.indexOf('  s250:') + 2)).toEqual({ line: 503, col: 3 });
  });

  test('invalid YAML that the fast path declines is located by the full parser', () => {
    expect(() => parseYamlSource('version: 1\nstages:\n  a:\n    cmd: "unclosed\n', 'bad.yaml')).toThrow(PipelineError);
    try {
      parseYamlSource('version: 1\nstages:\n  a: [1, 2\n', 'bad.yaml');
    } catch (err) {
      expect((err as PipelineError).message).toMatch(/^bad\.yaml:\d+:\d+: invalid YAML/);
    }
  });
});

describe('stage sections', () => {
  test('cuts a plain stages map into each stage\'s lines and the rest', () => {
    const text = 'version: 1\n# the stages\nstages:\n  a:\n    cmd: echo a\n\n  # b next\n  b:c:\n    cmd: echo b\nvars:\n  x: 1\n';
    const sections = stageSections(text)!;
    expect(sections.stages.map((s) => [s.name, s.line, s.col])).toEqual([['a', 4, 3], ['b:c', 8, 3]]);
    expect(sections.stages[0]!.text).toBe('  a:\n    cmd: echo a\n\n  # b next');
    expect(sections.before).toBe('version: 1\n# the stages\nstages:');
    expect(sections.after).toBe('vars:\n  x: 1\n');
  });

  test.each([
    ['a flow map', 'stages: {a: {cmd: x}}\n'],
    ['a quoted key', 'stages:\n  "a":\n    cmd: x\n'],
    ['a key given twice', 'stages:\n  a:\n    cmd: x\n  a:\n    cmd: y\n'],
    ['no stages', 'version: 1\n'],
  ])('gives up on %s', (_, text) => {
    expect(stageSections(text)).toBeUndefined();
  });
});
