export interface Cluster {
  dir: string;
  conf: string;
  env: { SLURM_CONF: string };
  pids: (number | undefined)[];
  stop(): Promise<void>;
}
export function slurmInstalled(): boolean;
export function startCluster(dir: string, opts?: { cpus?: number }): Promise<Cluster>;
