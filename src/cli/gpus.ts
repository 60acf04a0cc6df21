/** How many GPUs this machine offers to stages: PIPE_GPUS, else nvidia-smi's count, else none. */
import { execFileSync } from 'node:child_process';

export function detectGpus(): number {
  const declared = process.env.PIPE_GPUS;
  if (declared !== undefined && /^\d+$/.test(declared)) return Number(declared);
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return out.split('\n').filter((l) => l.startsWith('GPU ')).length;
  } catch {
    return 0;
  }
}
