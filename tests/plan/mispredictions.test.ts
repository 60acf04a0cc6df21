/**
 * The plan predicts the run, through the bundled CLI: each case is one a user met, where `run -n` and
 * `status` said one thing and `run` then did another, or where a reason was cut in two.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ok, projectsRemovedAfterAll, statuses, type TestProject } from '../helpers/pipe-project.js';

const project = projectsRemovedAfterAll();

interface StatusJson {
  stages: { name: string; state: string; reasons: string[] }[];
}

async function statusOf(p: TestProject): Promise<StatusJson> {
  const r = ok(await p.pipe(['status'], { json: true }));
  return JSON.parse(r.stdout) as StatusJson;
}

/** `run -n --json` and then `run --json`: stage -> status of each. */
async function planThenRun(p: TestProject): Promise<{ planned: Record<string, string | undefined>; ran: Record<string, string | undefined> }> {
  const planned = statuses(ok(await p.run('-n')));
  const ran = statuses(ok(await p.run()));
  return { planned, ran };
}

/** Two stages in a line: `make` copies in.txt, `use` reads what `make` made. */
const MAKE_THEN_USE = `version: 1
stages:
  make:
    cmd: cat in.txt > made.txt
    deps: [in.txt]
    outs: [made.txt]
  use:
    cmd: cat made.txt made.txt > used.txt
    deps: [made.txt]
    outs: [used.txt]
`;

describe.concurrent('the plan is what the run does', () => {
  test('an output edited by hand: the plan restores it, and what is downstream stays fresh, as the run does', async () => {
    const p = project(MAKE_THEN_USE, { 'in.txt': 'one\n' });
    ok(await p.run());
    writeFileSync(p.path('made.txt'), 'edited by hand\n');
    const status = await statusOf(p);
    expect(status.stages.map((s) => [s.name, s.state])).toEqual([['make', 'stale'], ['use', 'fresh']]);
    const { planned, ran } = await planThenRun(p);
    expect(planned).toEqual({ make: 'restored', use: 'skipped' });
    expect(ran).toEqual(planned);
    expect(p.read('made.txt')).toBe('one\n');
  });

  test('a deleted output folder: one restore is planned, the six stages reading files in it stay fresh', async () => {
    const readers = [1, 2, 3, 4, 5, 6].map((i) => `  read${i}:
    cmd: cat data/f${i}.txt > r${i}.txt
    deps: [data/f${i}.txt]
    outs: [r${i}.txt]
`).join('');
    const p = project(`version: 1
stages:
  gen:
    cmd: mkdir -p data && for i in 1 2 3 4 5 6; do echo $i > data/f$i.txt; done
    outs: [data]
${readers}`);
    ok(await p.run());
    rmSync(p.path('data'), { recursive: true });
    const status = await statusOf(p);
    expect(status.stages.filter((s) => s.state !== 'fresh').map((s) => s.name)).toEqual(['gen']);
    const text = ok(await p.pipe(['status'], { json: false })).stdout;
    expect(text).toContain('1 of 7 stage(s) would run');
    const { planned, ran } = await planThenRun(p);
    expect(planned).toEqual({ gen: 'restored', read1: 'skipped', read2: 'skipped', read3: 'skipped', read4: 'skipped', read5: 'skipped', read6: 'skipped' });
    expect(ran).toEqual(planned);
  });

  test("a dep named 'a; b.txt' is one reason, not two", async () => {
    const p = project(`version: 1
stages:
  copy:
    cmd: [cp, "a; b.txt", copy.txt]
    deps: ["a; b.txt"]
    outs: [copy.txt]
`, { 'a; b.txt': 'one\n' });
    ok(await p.run());
    writeFileSync(p.path('a; b.txt'), 'two\n');
    const status = await statusOf(p);
    expect(status.stages[0]).toMatchObject({ name: 'copy', state: 'stale', reasons: ['dep a; b.txt changed'] });
    const plan = ok(await p.run('-n'));
    const event = plan.events.find((e) => e.type === 'stage')!;
    expect(event.reasons).toEqual([{ kind: 'dep-changed', subject: 'a; b.txt', before: expect.any(String), after: expect.any(String) }]);
    expect(event.reason).toBe('would run: dep a; b.txt changed');
  });

  test('a stage downstream of one that will run is planned to run after it, and the run agrees', async () => {
    const p = project(MAKE_THEN_USE, { 'in.txt': 'one\n' });
    ok(await p.run());
    writeFileSync(p.path('in.txt'), 'two\n');
    const plan = ok(await p.run('-n'));
    expect(plan.events.find((e) => e.stage === 'use')?.reasons).toEqual([{ kind: 'upstream-will-run', subject: 'make' }]);
    const { planned, ran } = await planThenRun(p);
    expect(planned).toEqual({ make: 'ran', use: 'ran' });
    expect(ran).toEqual(planned);
  });
});
