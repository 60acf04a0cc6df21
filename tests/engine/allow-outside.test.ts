/** Deps outside the project are refused unless the pipeline lists their folder under `allow_outside`. */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, stageEvents } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();
const outside = mkdtempSync(path.join(tmpdir(), 'pipe-outside-'));
writeFileSync(path.join(outside, 'model.txt'), 'weights v1\n');
afterAll(() => rmSync(outside, { recursive: true, force: true }));

const pipeline = (allow: string) => `version: 1
${allow}
stages:
  use:
    cmd: [sh, -c, "cat ${outside}/model.txt > used.txt"]
    deps: ["${outside}/model.txt"]
    outs: [used.txt]
`;

test('an absolute dep outside the project is an error naming the file, line and column', async () => {
  const p = project(pipeline(''));
  const r = expectExit(await p.pipe(['validate'], { json: false }), 2);
  expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+: .*outside the project root.*allow_outside/);
});

test('allow_outside lets a dep be read, and a change to it reruns the stage', async () => {
  const p = project(pipeline(`allow_outside: [${outside}]`));
  expect(stageEvents(ok(await p.run())).use?.status).toBe('ran');
  expect(stageEvents(ok(await p.run())).use?.status).toBe('skipped');
  writeFileSync(path.join(outside, 'model.txt'), 'weights v2\n');
  const again = ok(await p.run());
  expect(stageEvents(again).use?.status).toBe('ran');
  expect(p.read('used.txt')).toBe('weights v2\n');
});

test('a symlink into an allowed folder is read; outputs never go outside', async () => {
  const p = project(`version: 1
allow_outside: [${outside}]
stages:
  via-link:
    cmd: [sh, -c, "cat ext/model.txt > copy.txt"]
    deps: [ext/model.txt]
    outs: [copy.txt]
  write-out:
    cmd: [sh, -c, "echo x > ext/out.txt"]
    outs: [ext/out.txt]
`);
  symlinkSync(outside, p.path('ext'));
  const r = expectExit(await p.run('-k'), 1);
  expect(stageEvents(r)['via-link']?.status).toBe('ran');
  expect(stageEvents(r)['write-out']?.status).toBe('failed');
  expect(stageEvents(r)['write-out']?.reason).toMatch(/leads outside the project through a symlink/);
});
