/** The readers behind metrics and plots: nested numbers flattened, CSV with quotes, JSON series. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { displayNames, flattenNumbers, readMetrics } from '../../src/metrics/read.js';
import { diffMetrics } from '../../src/metrics/diff.js';
import { delimited, readPlotFile } from '../../src/viz/plot-files.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pipe-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('metrics', () => {
  test('numbers at any depth as a.b.c, list items by index; text and booleans are not metrics', () => {
    expect(flattenNumbers({ wer: 0.2, per_film: [{ wer: 0.1, name: 'a' }], ok: true, train: { loss: { last: 1e-3 } } }))
      .toEqual({ wer: 0.2, 'per_film.0.wer': 0.1, 'train.loss.last': 0.001 });
  });

  test('YAML for any extension but .json; a broken file is a problem, not a crash', () => {
    writeFileSync(path.join(dir, 'm.yaml'), 'acc: 0.9\nnested:\n  f1: 0.8\n');
    writeFileSync(path.join(dir, 'bad.json'), '{"a": 1,');
    const read = readMetrics(dir, ['m.yaml', 'bad.json', 'gone.json']);
    expect(read.metrics).toEqual({ 'm.yaml': { acc: 0.9, 'nested.f1': 0.8 } });
    expect(Object.keys(read.problems)).toEqual(['bad.json', 'gone.json']);
  });

  test('diff: the change per value, 0.1 + 0.2 - 0.3 rounded off, new and gone values', () => {
    expect(diffMetrics({ f: { a: 0.1, gone: 1 } }, { f: { a: 0.3, fresh: 2 } })).toEqual([
      { file: 'f', key: 'a', old: 0.1, new: 0.3, change: 0.2 },
      { file: 'f', key: 'fresh', new: 2 },
      { file: 'f', key: 'gone', old: 1 },
    ]);
    expect(displayNames([{ file: 'a/m.json', key: 'wer' }, { file: 'b/m.json', key: 'wer' }, { file: 'a/m.json', key: 'n' }]))
      .toEqual(['a/m.json:wer', 'b/m.json:wer', 'n']);
  });
});

describe('plot files', () => {
  test('CSV: quoted fields with commas, quotes and newlines; CRLF', () => {
    const t = delimited('film,"wer, %"\r\n"a ""b""",1.5\r\n"c\nd",2\r\n', ',');
    expect(t).toEqual({ header: ['film', 'wer, %'], rows: [['a "b"', '1.5'], ['c\nd', '2']] });
  });

  test('a categorical x column (film names) becomes labels; TSV; JSON rows and maps', () => {
    writeFileSync(path.join(dir, 'w.tsv'), 'film\twer\tcer\nintro\t0.2\t0.1\nouttro\t0.3\tx\n');
    expect(readPlotFile(dir, 'w.tsv')).toMatchObject({ xLabel: 'film', xLabels: ['intro', 'outtro'], series: [{ name: 'wer', points: [[0, 0.2], [1, 0.3]] }, { name: 'cer', points: [[0, 0.1]] }] });
    writeFileSync(path.join(dir, 'rows.json'), JSON.stringify([{ step: 1, loss: 2 }, { step: 2, loss: 1 }]));
    expect(readPlotFile(dir, 'rows.json').series).toEqual([{ name: 'loss', points: [[1, 2], [2, 1]] }]);
    writeFileSync(path.join(dir, 'map.json'), JSON.stringify({ train: [3, 2], val: [4, 3] }));
    expect(readPlotFile(dir, 'map.json').series.map((s) => s.name)).toEqual(['train', 'val']);
    writeFileSync(path.join(dir, 'one.csv'), 'x\n1\n');
    expect(() => readPlotFile(dir, 'one.csv')).toThrow(/at least two columns/);
  });
});
