export type CheckResult = { fresh: true; outputHash: string } | { fresh: false; reason: string };

export interface RunResult {
  outputHash: string;
  commit?: string;
  files: number;
  bytes: number;
  /** bytes that came over the network this time */
  downloaded: number;
}
