/** Groups declared per item of a var (`foreach`), with a list reference in the name fanning out, and a desc. */
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

const MANIFEST = `alpha: {kind: fruit, tags: [red, sweet]}
beta: {kind: fruit, tags: [sweet]}
gamma: {kind: root, tags: []}
`;

const PIPELINE = `version: 1
imports: {things: things.yaml}
vars:
  files: ["in/*.txt"]
groups:
  every:
    desc: All things
    foreach: things
    members: ["get:\${key}"]
  kind:\${item.kind}:
    desc: The \${item.kind} things
    foreach: things
    members: ["get:\${key}"]
  tag:\${item.tags}:
    desc: Things tagged \${item.tags}
    foreach: things
    members: ["get:\${key}"]
  file:\${job}:
    foreach: files
    members: ["use@\${job}"]
  plain: [get:alpha]
stages:
  get:alpha: {cmd: echo alpha}
  get:beta: {cmd: echo beta}
  get:gamma: {cmd: echo gamma}
  use:
    foreach: files
    cmd: cat \${item}
    deps: ["\${item}"]
`;

interface Listed {
  groups: { name: string; desc: string; members: string[] }[];
}

describe.concurrent('groups declared by foreach', () => {
  test('one group per value of a field, one per element of a list field; desc interpolated; pipe list shows them', async () => {
    const p = project(PIPELINE, { 'things.yaml': MANIFEST, 'in/a.txt': 'a\n', 'in/b.txt': 'b\n' });
    const listed = JSON.parse(ok(await p.pipe(['list'])).stdout) as Listed;
    const byName = Object.fromEntries(listed.groups.map((g) => [g.name, g]));
    expect(byName.every).toEqual({ name: 'every', desc: 'All things', members: ['get:alpha', 'get:beta', 'get:gamma'] });
    expect(byName['kind:fruit']).toEqual({ name: 'kind:fruit', desc: 'The fruit things', members: ['get:alpha', 'get:beta'] });
    expect(byName['kind:root']).toEqual({ name: 'kind:root', desc: 'The root things', members: ['get:gamma'] });
    expect(byName['tag:red']).toEqual({ name: 'tag:red', desc: 'Things tagged red', members: ['get:alpha'] });
    expect(byName['tag:sweet']?.members).toEqual(['get:alpha', 'get:beta']);
    expect(byName.plain).toEqual({ name: 'plain', desc: '', members: ['get:alpha'] });
    // over a glob: one group per file, named by its job key like the foreach stages
    const fileGroups = listed.groups.filter((g) => g.name.startsWith('file:'));
    expect(fileGroups).toHaveLength(2);
    for (const g of fileGroups) expect(g.members).toEqual([`use@${g.name.slice('file:'.length)}`]);

    const text = ok(await p.pipe(['list'], { json: false })).stdout;
    expect(text).toMatch(/^ {2}kind:fruit +The fruit things: get:alpha, get:beta$/m);

    const dry = ok(await p.run('-n', 'tag:sweet'));
    expect(Object.keys(stageEvents(dry)).sort()).toEqual(['get:alpha', 'get:beta']);
    const file = ok(await p.run('-n', fileGroups[0]!.name));
    expect(Object.keys(stageEvents(file))).toEqual(fileGroups[0]!.members);
  }, 30_000);

  test('errors are located: unknown foreach var, a field an item lacks, a member naming no stage, a bad name, a misspelt key', async () => {
    const p = project(PIPELINE, { 'things.yaml': MANIFEST, 'in/a.txt': 'a\n' });
    const cases: [string, string, RegExp][] = [
      ['foreach: things', 'foreach: thigns', /pipeline\.yaml:8:14: unknown var 'thigns' \(did you mean 'things'\?\)/],
      ['kind:${item.kind}:', 'kind:${item.colour}:', /^pipe: pipeline\.yaml:10:3: unknown var 'item\.colour'[^\n]*\n?$/],
      ['  get:gamma: {cmd: echo gamma}\n', '', /pipeline\.yaml:13:15: unknown stage or group 'get:gamma' \(group 'kind:\$\{item\.kind\}' for things\.gamma\)/],
      ['  plain: [get:alpha]', '  plain-${item}: {foreach: files, members: [get:alpha]}', /pipeline\.yaml:21:3: group name 'plain-in\/a\.txt' for 'in\/a\.txt' is not a name/],
      ['    desc: All things', '    dsec: All things', /pipeline\.yaml:7:5: unknown key 'dsec' in groups\.every \(did you mean 'desc'\?\)/],
    ];
    for (const [from, to, message] of cases) {
      expect(PIPELINE).toContain(from);
      p.pipeline(PIPELINE.replace(from, to));
      const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    }
  }, 30_000);
});
