/**
 * The key of a stage covers everything its process can observe from its declaration (SPEC): the environment
 * pipe sets for it (top-level env, its own env, the cache roots, HF_HUB_OFFLINE), the exec bits of its deps,
 * its declared outputs. The run-cache never hands one stage the outputs of another that runs the same command.
 */
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { RecordStore } from '../../src/state/records.js';
import { ok, projectsRemovedAfterAll, stageEvents, statuses, TestProject, type PipeResult } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

const explainJson = async (p: TestProject, stage: string) =>
  JSON.parse(ok(await p.pipe(['explain', stage])).stdout) as { state: string; reasons: string[]; parts: { part: string; name: string; now: string; changed: boolean }[] };
const explainText = async (p: TestProject, stage: string) => ok(await p.pipe(['explain', stage], { json: false })).stdout;
const ran = (r: PipeResult) => Object.entries(statuses(r)).filter(([, s]) => s === 'ran').map(([n]) => n).sort();

describe.concurrent('the stage key', () => {
  test('two stages with the same command and deps but other outputs both run', async () => {
    const p = project(`version: 1
stages:
  first:
    cmd: [sh, -c, "echo same > a.txt; echo same > b.txt"]
    outs: [a.txt]
  second:
    cmd: [sh, -c, "echo same > a.txt; echo same > b.txt"]
    outs: [b.txt]
`);
    expect(stageEvents(ok(await p.run('first'))).first?.status).toBe('ran');
    // same command, same (no) deps: only the declared outputs tell the two apart
    expect(stageEvents(ok(await p.run('second'))).second?.status).toBe('ran');
    expect((await explainJson(p, 'second')).state).toBe('fresh');
  });

  test('a change of the top-level env reruns every stage that sees it, and explain names it', async () => {
    const pipeline = (level: string) => `version: 1
env:
  LOG_LEVEL: ${level}
stages:
  one:
    cmd: [sh, -c, "echo one > one.txt"]
    outs: [one.txt]
  two:
    cmd: [sh, -c, "cat one.txt > two.txt"]
    deps: [one.txt]
    outs: [two.txt]
  own:
    cmd: [sh, -c, 'echo $LOG_LEVEL > own.txt']
    env: {LOG_LEVEL: quiet}
    outs: [own.txt]
`;
    const p = project(pipeline('info'));
    ok(await p.run());
    p.pipeline(pipeline('debug'));
    const explain = await explainJson(p, 'one');
    expect(explain.state).toBe('stale');
    expect(explain.reasons).toContain("env LOG_LEVEL changed: 'info' -> 'debug'");
    expect(await explainText(p, 'one')).toMatch(/≠ env LOG_LEVEL: info -> debug/);
    // `own` sets its own LOG_LEVEL: the top-level one never reaches its process
    expect(ran(ok(await p.run()))).toEqual(['one', 'two']);
    expect(ran(ok(await p.run()))).toEqual([]);
  });

  test('a file dep that becomes executable (or stops being) reruns, and explain says so; so does a folder entry', async () => {
    const p = project(`version: 1
stages:
  tool:
    cmd: [sh, -c, "sh tool.sh > tool.txt; ls -l tool.sh | cut -c4 >> tool.txt"]
    deps: [tool.sh]
    outs: [tool.txt]
  kit:
    cmd: [sh, -c, "ls -l kit/bin/run.sh | cut -c4 > kit.txt"]
    deps: [kit]
    outs: [kit.txt]
`, { 'tool.sh': 'echo hi\n', 'kit/bin/run.sh': 'echo run\n' });
    ok(await p.run());
    chmodSync(p.path('tool.sh'), 0o755);
    expect((await explainJson(p, 'tool')).reasons).toEqual(['dep tool.sh became executable']);
    expect(await explainText(p, 'tool')).toMatch(/≠ dep tool\.sh: became executable/);
    expect(ran(ok(await p.run()))).toEqual(['tool']);
    expect(p.read('tool.txt')).toBe('hi\nx\n');
    chmodSync(p.path('tool.sh'), 0o644);
    expect((await explainJson(p, 'tool')).reasons[0]).toBe('dep tool.sh is no longer executable');
    chmodSync(p.path('kit/bin/run.sh'), 0o755);
    // tool is back to what its first run saw: restored from the cache; kit's folder now holds an executable
    expect(statuses(ok(await p.run()))).toEqual({ tool: 'restored', kit: 'ran' });
    expect(p.read('kit.txt')).toBe('x\n');
  });

  test('a change of the cache roots reruns, and explain names the variables', async () => {
    const pipeline = (hf: string) => `version: 1
cache:
  hf_home: ${hf}
stages:
  where:
    cmd: [sh, -c, 'echo $HF_HOME > where.txt']
    outs: [where.txt]
`;
    const p = project(pipeline('.cache/hf'));
    ok(await p.run());
    p.pipeline(pipeline('.cache/hf2'));
    const reasons = (await explainJson(p, 'where')).reasons.join('\n');
    expect(reasons).toMatch(/env HF_HOME changed: '\$\{PIPE_ROOT\}\/\.cache\/hf' -> '\$\{PIPE_ROOT\}\/\.cache\/hf2'/);
    expect(reasons).toMatch(/env HF_HUB_CACHE changed/);
    expect(ran(ok(await p.run()))).toEqual(['where']);
    expect(p.read('where.txt')).toBe(`${p.path('.cache/hf2')}\n`);
  });

  test('every variable `pipe env STAGE` shows is a part of the key (HF_HUB_OFFLINE too), but not where the project is', async () => {
    const p = project(`version: 1
env:
  SHARED: everyone
stages:
  model:
    fetch: {hf: org/name, revision: 0123456789abcdef0123456789abcdef01234567}
  infer:
    cmd: [sh, -c, "echo infer > infer.txt"]
    needs: [model]
    env: {OWN: mine}
    outs: [infer.txt]
`);
    const env = JSON.parse(ok(await p.pipe(['env', 'infer'])).stdout) as Record<string, string>;
    expect(env.HF_HUB_OFFLINE).toBe('1');
    const keyed = (await explainJson(p, 'infer')).parts.filter((r) => r.part === 'env').map((r) => r.name).sort();
    expect(keyed).toEqual(Object.keys(env).filter((k) => k !== 'PIPE_ROOT').sort());
  });

  test('a copy of the project in another folder keeps its keys (paths under the root are keyed relative to it)', async () => {
    const p = project(`version: 1
cache:
  hf_home: .cache/hf
stages:
  where:
    cmd: [sh, -c, 'echo $HF_HOME $TORCH_HOME | wc -c > where.txt']
    outs: [where.txt]
`);
    ok(await p.run());
    const copy = new TestProject(mkdtempSync(path.join(tmpdir(), 'pipe-e2e-moved-')));
    try {
      cpSync(p.dir, copy.dir, { recursive: true });
      expect(statuses(ok(await copy.run()))).toEqual({ where: 'skipped' });
    } finally {
      copy.remove();
    }
  });

  test('a record of the earlier key format makes the stage run once, and explain says why', async () => {
    const p = project(`version: 1
env:
  LOG_LEVEL: info
stages:
  one:
    cmd: [sh, -c, "echo one > one.txt"]
    outs: [one.txt]
`);
    ok(await p.run());
    // what the first format recorded: no format field, only the stage's own env, a key of its own kind
    // and no run-cache entry for the current key
    const record = new RecordStore(p.path('.pipe/state.log')).load().stage('one')!;
    rmSync(p.path('.pipe/state.log'));
    rmSync(p.path('.pipe/run-cache.log'));
    const store = new RecordStore(p.path('.pipe/state.log'));
    const { format: _format, ...oldParts } = record.parts;
    store.record({ ...record, key: 'f'.repeat(32), parts: { ...oldParts, env: {} } });
    store.close();
    const explain = await explainJson(p, 'one');
    expect(explain.state).toBe('stale');
    expect(explain.reasons[0]).toBe('recorded by an earlier version of pipe (the key now covers more): runs once');
    expect(ran(ok(await p.run()))).toEqual(['one']);
    expect(ran(ok(await p.run()))).toEqual([]);
  });
});

