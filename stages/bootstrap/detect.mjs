#!/usr/bin/env node
// @ts-check
/**
 * bootstrap:detect: finds the accelerator and recommends a profile.
 * CUDA when nvidia-smi lists a GPU, Apple Silicon (mlx) on darwin/arm64, else cpu.
 * Usage: detect.mjs --out config/hardware.json
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { parseArgs, required, runMain, writeJson } from '../lib/cli.mjs';

/** @returns {{ name: string, memory_mib: number, driver: string }[]} */
function nvidiaGpus() {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [name, memory, driver] = l.split(',').map((s) => s.trim());
        return { name, memory_mib: Number(memory), driver };
      });
  } catch {
    return []; // no nvidia-smi, or no driver: not a CUDA machine
  }
}

/** @param {{ gpus: unknown[], platform: string, arch: string }} facts */
export function recommendProfile({ gpus, platform, arch }) {
  if (gpus.length > 0) return 'cuda';
  if (platform === 'darwin' && arch === 'arm64') return 'mlx';
  return 'cpu';
}

runMain('detect', () => {
  const { opts } = parseArgs(process.argv.slice(2), ['out']);
  const gpus = nvidiaGpus();
  const facts = { gpus, platform: process.platform, arch: process.arch };
  const recommended = recommendProfile(facts);
  writeJson(required(opts, 'out'), {
    platform: process.platform,
    arch: process.arch,
    cpus: cpus().length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cuda: { available: gpus.length > 0, gpus },
    apple_silicon: process.platform === 'darwin' && process.arch === 'arm64',
    recommended_profile: recommended,
    note: `production profile for this machine: pipe run subtitle --set profile=${recommended}; the offline profile runs anywhere`,
  });
});
