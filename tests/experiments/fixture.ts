/**
 * A two-parameter pipeline for the experiment tests: `prep` writes `a`, `train` writes metrics from `a` and
 * `b` (score = a * b, nested loss = b / 100). Every command that really runs appends its name to calls.log,
 * so a test can tell a run from a restore by the file, not by timing.
 */
export const TWO_PARAMS = `version: 1
vars:
  a: 1
  b: 10
stages:
  prep:
    cmd: printf '%s\\n' \${a} > prep.txt; echo prep >> calls.log
    params: [a]
    outs: [prep.txt]
  train:
    cmd: >-
      printf '{"score": %s, "nested": {"loss": %s}}\\n' "$(( $(cat prep.txt) * \${b} ))" "$(awk "BEGIN { print \${b} / 100 }")" > metrics.json;
      printf 'step,loss\\n1,%s\\n2,%s\\n' "\${b}" "$(( \${b} / 2 ))" > curve.csv;
      echo train >> calls.log
    deps: [prep.txt]
    params: [b]
    metrics: [metrics.json]
    plots: [curve.csv]
`;

/** What `train` writes for a and b. */
export function metricsText(a: number, b: number): string {
  return `{"score": ${a * b}, "nested": {"loss": ${b / 100}}}\n`;
}
