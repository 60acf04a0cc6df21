/**
 * The property: for random DAGs and random edits (touch, content edit, revert, delete an output, edit an
 * output by hand, change a param, change a command), what the plan says each stage will do (run, restore,
 * skip) is what the following run does, stage by stage. The bulk drives the planner and the builder
 * in-process with a fake runner; a few cases go through the bundled CLI (`run -n --json`, then `run --json`).
 * PIPE_SOAK=1 runs many more of both.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { execute } from '../../src/exec/execute.js';
import type { StageRunner } from '../../src/exec/runner.js';
import { openEngine } from '../../src/plan/context.js';
import { planOf, plannedStatus } from '../../src/cli/states.js';
import { selectStages } from '../../src/cli/session.js';
import { openProject } from '../../src/project.js';
import type { Reporter, StageEvent } from '../../src/report/events.js';
import { ok, statuses, TestProject } from '../helpers/pipe-project.js';
import { seededRandom } from '../reliability/helpers.js';
import { applyEdit, EDITS, fakeCommand, randomPipeline, writeProject, type PipelineModel } from './random-pipeline.js';

const SOAK = process.env.PIPE_SOAK === '1';
const IN_PROCESS_CASES = SOAK ? 20_000 : 3000;
const CLI_CASES = SOAK ? 200 : 16;
const ROUNDS = 4;

type Statuses = Record<string, string>;

/** Memory when there is a tmpfs: the bulk is about deciding, not about fsync. */
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

const fakeRunner = (root: string): StageRunner => ({
  name: 'fake',
  capacity: { cpu: 2, gpu: 0, mem: 2 ** 40 },
  run: async (spec) => {
    fakeCommand(root, String(spec.cmd));
    return { exitCode: 0, interrupted: false, tail: [] };
  },
});

function collector(events: StageEvent[]): Reporter {
  return { plan() {}, start() {}, finish: (e) => void events.push(e), progress() {}, note() {}, summary: async () => {} };
}

async function planned(dir: string): Promise<Statuses> {
  const project = await openProject(path.join(dir, 'pipeline.yaml'), {});
  const plans = await planOf(openEngine(project), selectStages(project, []));
  return Object.fromEntries(plans.map((p) => [p.name, plannedStatus(p.decision)]));
}

async function ran(dir: string): Promise<Statuses> {
  const project = await openProject(path.join(dir, 'pipeline.yaml'), {});
  const events: StageEvent[] = [];
  await execute(openEngine(project), selectStages(project, []), {
    keepGoing: false, force: new Set(), offline: true, noNetwork: false,
    signal: new AbortController().signal, runner: fakeRunner(dir),
  }, collector(events));
  return Object.fromEntries(events.map((e) => [e.stage, e.status]));
}

/** Random edits, then plan and run: yields [what was done, planned, ran] for each round. */
async function* rounds(seed: number, plan: (dir: string) => Promise<Statuses>, run: (dir: string) => Promise<Statuses>, dir: string) {
  const random = seededRandom(seed);
  const model: PipelineModel = randomPipeline(random);
  writeProject(dir, model);
  await run(dir);
  for (let round = 0; round < ROUNDS; round++) {
    const edits = Array.from({ length: 1 + Math.floor(random() * 3) }, () => applyEdit(dir, model, EDITS[Math.floor(random() * EDITS.length)]!, random));
    const before = await plan(dir);
    const after = await run(dir);
    yield { what: `seed ${seed} round ${round}: ${edits.join(', ')}`, before, after };
  }
}

describe('the plan predicts the run', () => {
  test(`in-process: ${IN_PROCESS_CASES} random pipelines and edits`, async () => {
    const base = mkdtempSync(path.join(SCRATCH, 'pipe-plan-prop-'));
    const kinds = new Set<string>();
    try {
      for (let seed = 1; seed * ROUNDS <= IN_PROCESS_CASES; seed++) {
        const dir = path.join(base, String(seed));
        for await (const { what, before, after } of rounds(seed, planned, ran, dir)) {
          expect({ what, statuses: before }).toEqual({ what, statuses: after });
          for (const s of Object.values(after)) kinds.add(s);
        }
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
    // the edits reach every outcome a plan can predict
    expect([...kinds].sort()).toEqual(['ran', 'restored', 'skipped']);
  }, 120_000);

  test(`through the bundled CLI: ${CLI_CASES} random pipelines and edits`, async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'pipe-plan-cli-'));
    const cli = (args: string[]) => async (dir: string) => statuses(ok(await new TestProject(dir).pipe(['run', ...args]))) as Statuses;
    try {
      for (let seed = 1; seed * ROUNDS <= CLI_CASES; seed++) {
        for await (const { what, before, after } of rounds(100_000 + seed, cli(['-n']), cli([]), path.join(base, String(seed)))) {
          expect({ what, statuses: before }).toEqual({ what, statuses: after });
        }
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 120_000);
});
