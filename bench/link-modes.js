// @ts-check
// cache.link: time and disk used to store and restore N MB of outputs in each mode, through the bundled CLI.
//
//   node bench/link-modes.js                  # 256 MB in 4 files, on the temp folder's filesystem
//   node bench/link-modes.js --mb 1024 --files 8 --reps 5   # times are medians of --reps fresh projects
//   node bench/link-modes.js --btrfs          # also on a btrfs loop mount (root; mkfs.btrfs), where reflinks work
//
// For each mode a fresh project runs one stage that writes the files through a pipe (`yes | head -c`: new
// blocks; `cat FILE > out` would let coreutils clone on btrfs); then `store` is that run, `restore` a run
// after `rm -rf out`. Disk is what the project takes (du: hardlinks counted once) and, on the btrfs mount,
// the filesystem's own used blocks (df), the only figure that sees shared extents. On btrfs even `copy`
// shares extents: Node's copyFile uses copy_file_range, which btrfs answers with a clone.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PIPE = path.join(REPO, 'bin', 'pipe.js');
const MODES = ['copy', 'reflink', 'hardlink', undefined];

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const totalMb = option('mb', 256);
const files = option('files', 4);
const reps = option('reps', 3);

/** @param {string} dir @param {string | undefined} link */
function project(dir, link) {
  const perFile = Math.floor((totalMb * 1024 * 1024) / files);
  const outs = [];
  const cmds = ['mkdir -p out'];
  for (let i = 0; i < files; i++) {
    cmds.push(`yes block-${i} | head -c ${perFile} > out/${i}.bin`);
    outs.push(`out/${i}.bin`);
  }
  writeFileSync(path.join(dir, 'pipeline.yaml'), `version: 1
${link ? `cache: {link: ${link}}\n` : ''}stages:
  write:
    cmd: ${cmds.join(' && ')}
    outs: [${outs.join(', ')}]
`);
}

/** @param {string} dir @param {string[]} argv */
function timedPipe(dir, argv) {
  const started = process.hrtime.bigint();
  const r = spawnSync('node', [PIPE, '-q', ...argv], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`pipe ${argv.join(' ')} failed in ${dir}:\n${r.stdout}${r.stderr}`);
  return { ms, notes: (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('pipe: cache.link')) };
}

/** bytes under dir, hardlinks counted once (GNU du) */
function du(dir) {
  return Number(execFileSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** bytes used on the filesystem holding dir */
function dfUsed(dir) {
  execFileSync('sync', ['-f', dir]);
  const lines = execFileSync('df', ['--block-size=1', '--output=used', dir], { encoding: 'utf8' }).trim().split('\n');
  return Number(lines[lines.length - 1]);
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(0)} MB`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One fresh project: the store run, the restore run, what it takes on disk. @param {string} base @param {string | undefined} link @param {boolean} withDf */
function once(base, link, withDf) {
  const dir = mkdtempSync(path.join(base, `link-${link ?? 'default'}-`));
  try {
    project(dir, link);
    const before = withDf ? dfUsed(dir) : 0;
    const store = timedPipe(dir, ['run']);
    const used = du(dir);
    const fsUsed = withDf ? dfUsed(dir) - before : 0;
    rmSync(path.join(dir, 'out'), { recursive: true });
    const restore = timedPipe(dir, ['run']);
    return { store: store.ms, restore: restore.ms, used, fsUsed, notes: new Set([...store.notes, ...restore.notes]).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @param {string} base @param {boolean} withDf */
function measure(base, withDf) {
  const rows = [];
  for (const link of MODES) {
    const runs = Array.from({ length: reps }, () => once(base, link, withDf));
    const last = runs[runs.length - 1];
    rows.push({
      mode: link ?? '(default)',
      'store run': `${median(runs.map((r) => r.store)).toFixed(0)} ms`,
      'restore run': `${median(runs.map((r) => r.restore)).toFixed(0)} ms`,
      'project (du)': mb(last.used),
      ...(withDf ? { 'filesystem (df)': mb(last.fsUsed) } : {}),
      notes: last.notes,
    });
  }
  return rows;
}

const fsType = (dir) => execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();

console.log(`${totalMb} MB of outputs in ${files} files; disk: the project (outputs + .pipe)\n`);
const base = mkdtempSync(path.join(tmpdir(), 'pipe-bench-links-'));
try {
  console.log(`${fsType(base)} (${base}):`);
  console.table(measure(base, false));
  if (args.includes('--btrfs')) {
    const image = path.join(base, 'btrfs.img');
    const mnt = path.join(base, 'mnt');
    mkdirSync(mnt);
    execFileSync('truncate', ['-s', `${Math.max(1024, totalMb * 8)}M`, image]);
    execFileSync('mkfs.btrfs', ['-q', image], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', image, mnt]);
    try {
      console.log(`\nbtrfs loop mount (${mnt}):`);
      console.table(measure(mnt, true));
    } finally {
      execFileSync('umount', [mnt]);
    }
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
