/**
 * .pipe/state.log through the real CLI: a torn last line (a crash mid-append) never swallows the record
 * appended after it; the log names its format in a header line; an older log without one is still read; a
 * log of an unknown format is refused, never misread.
 */
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { expectExit, ok, projectsRemovedAfterAll, statuses, type TestProject } from '../helpers/pipe-project.js';
import { corruptRecordLines } from './helpers.js';

const project = projectsRemovedAfterAll();

const TWO = `version: 1
stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
  b:
    cmd: echo b > b.txt
    outs: [b.txt]
`;

async function stateOf(p: TestProject, stage: string): Promise<string | undefined> {
  const r = ok(await p.pipe(['status', stage, '--json'], { json: false }));
  return (JSON.parse(r.stdout) as { stages: { name: string; state: string }[] }).stages.find((s) => s.name === stage)?.state;
}

function logLines(p: TestProject): string[] {
  return readFileSync(p.path('.pipe/state.log'), 'utf8').split('\n').filter(Boolean);
}

function checksummed(json: string): string {
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

describe.concurrent('state.log', () => {
  test('a torn last line does not swallow the record appended after it', async () => {
    const p = project(TWO);
    ok(await p.run('a'));
    const file = p.path('.pipe/state.log');
    const size = readFileSync(file).length;
    truncateSync(file, size - 20); // the last record, cut mid-line, without its newline
    expect(statuses(ok(await p.run('b')))).toEqual({ b: 'ran' });
    expect(corruptRecordLines(p.dir)).toEqual([]);
    expect(await stateOf(p, 'b')).toBe('fresh');
    // a's record was the torn line: only it is lost (the run-cache, a log of its own, still has a's outputs)
    expect(await stateOf(p, 'a')).toBe('never-run');
    expect(statuses(ok(await p.run('a')))).toEqual({ a: 'restored' });
  });

  test('a torn file that is nothing but a partial line starts afresh with its header', async () => {
    const p = project(TWO);
    p.write('.pipe/state.log', '1234abcd {"s":{"name":"a","ke');
    ok(await p.run('b'));
    expect(logLines(p)[0]).toContain('{"format":1}');
    expect(await stateOf(p, 'b')).toBe('fresh');
  });

  test('starts with a format header; a log written before the header existed is read as before', async () => {
    const p = project(TWO);
    ok(await p.run());
    const lines = logLines(p);
    expect(lines[0]).toBe(checksummed('{"format":1}').trimEnd());
    writeFileSync(p.path('.pipe/state.log'), lines.slice(1).map((l) => `${l}\n`).join(''));
    expect(await stateOf(p, 'a')).toBe('fresh');
    expect(statuses(ok(await p.pipe(['run', '--force', 'b'])))).toEqual({ b: 'ran' });
    expect(await stateOf(p, 'a')).toBe('fresh');
  });

  test('run-cache entries in a state.log from before the run-cache had its own log are used, then moved there', async () => {
    const p = project(TWO);
    ok(await p.run('a'));
    const runs = readFileSync(p.path('.pipe/run-cache.log'), 'utf8').split('\n').filter((l) => l.includes('{"r":'));
    writeFileSync(p.path('.pipe/state.log'), [...logLines(p), ...runs].map((l) => `${l}\n`).join(''));
    rmSync(p.path('.pipe/run-cache.log'));
    rmSync(p.path('a.txt'));
    ok(await p.pipe(['run', '--force', 'b']));
    expect(logLines(p).some((l) => l.includes('{"r":'))).toBe(false);
    expect(readFileSync(p.path('.pipe/run-cache.log'), 'utf8')).toContain(runs[0]!.slice(9));
    expect(statuses(ok(await p.run('a')))).toEqual({ a: 'restored' });
  });

  test.each([
    { header: '{"format": 3}', says: "state format 3, newer than this pipe's (format 1)" },
    { header: '{"format":0}', says: 'state format 0, which no pipe of this line writes' },
    { header: '{"format":"1"}', says: 'state format "1", which no pipe of this line writes' },
  ])('a header $header is refused, never read as format 1', async ({ header, says }) => {
    const p = project(TWO);
    ok(await p.run());
    const other = checksummed(header) + logLines(p).slice(1).map((l) => `${l}\n`).join('');
    writeFileSync(p.path('.pipe/state.log'), other);
    const r = expectExit(await p.pipe(['status'], { json: false }), 2);
    expect(r.stderr).toContain(says);
    expect(r.stderr).toContain('.pipe/state.log');
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(readFileSync(p.path('.pipe/state.log'), 'utf8')).toBe(other);
  });

  test('a log of an unknown format is refused with a clear message and left alone', async () => {
    const p = project(TWO);
    ok(await p.run());
    const newer = checksummed('{"format":2}') + logLines(p).slice(1).map((l) => `${l}\n`).join('');
    writeFileSync(p.path('.pipe/state.log'), newer);
    for (const args of [['run', '--force'], ['status']]) {
      const r = expectExit(await p.pipe(args, { json: false }), 2);
      expect(r.stderr).toContain('state format 2');
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect(readFileSync(p.path('.pipe/state.log'), 'utf8')).toBe(newer);
  });
});
