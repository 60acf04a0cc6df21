/**
 * A foreach job's errors are located at the field of the template that made them, file:line:col, though the
 * loader builds those YAML paths once per template (not per job) and only turns them into positions when
 * there is an error. Each error here comes from a late job (the 3rd item of 3), through the bundled CLI.
 */
import { describe, expect, test } from 'vitest';
import { expectExit, projectsRemovedAfterAll } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

/** one template over [a, b, <bad>], with `field` (YAML lines, indented by 4) as its only varying part */
function template(bad: string, field: string[]): string {
  return ['version: 1', 'vars:', `  items: [a, b, ${JSON.stringify(bad)}]`, 'stages:', '  t:', '    foreach: items', ...field, ''].join('\n');
}

async function validateError(yaml: string): Promise<string> {
  const r = expectExit(await project(yaml).pipe(['validate'], { json: false }), 2);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack trace
  return r.stderr;
}

describe.concurrent('errors of one foreach job', () => {
  test('an output of the third job that leaves the project: located at that entry of outs', async () => {
    const text = await validateError(template('../../x', ['    cmd: echo ${item} > out/${job}.txt', '    outs:', '      - out/${job}.txt', '      - ${item}.txt']));
    expect(text).toMatch(/pipeline\.yaml:10:9: .*\.\.\/\.\.\/x\.txt/);
  });

  test('a dep of the third job that leaves the project: located at deps', async () => {
    const text = await validateError(template('../../y', ['    cmd: cat ${item}', '    deps: [in.txt, "${item}"]']));
    expect(text).toMatch(/pipeline\.yaml:8:20: .*\.\.\/\.\.\/y/);
  });

  test('an output that is a glob: located at its entry of outs', async () => {
    const text = await validateError(template('c', ['    cmd: echo ${item}', '    outs: ["out/${job}.txt", "o/*.txt"]']));
    expect(text).toContain("pipeline.yaml:8:30: outs cannot be globs: 'o/*.txt'");
  });

  test('a log of the third job that leaves the project: located at log', async () => {
    const text = await validateError(template('../../z', ['    cmd: echo ${item}', '    log: ${item}.log']));
    expect(text).toMatch(/pipeline\.yaml:8:10: .*\.\.\/\.\.\/z\.log/);
  });

  test('an unknown var in an env value and in the command: located at that key and at cmd', async () => {
    const text = await validateError(template('c', ['    cmd: echo ${item} ${nope}', '    env:', '      MODE: ${mode}']));
    expect(text).toContain("pipeline.yaml:7:10: unknown var 'nope'");
    expect(text).toContain("pipeline.yaml:9:13: unknown var 'mode'");
  });

  test('an unknown var in desc: located at desc', async () => {
    const text = await validateError(template('c', ['    cmd: echo ${item}', '    desc: about ${what}']));
    expect(text).toContain("pipeline.yaml:8:11: unknown var 'what'");
  });
});
