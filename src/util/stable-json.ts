/** JSON with sorted map keys, so equal values always give equal text (and equal digests). */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i ? ',' : '') + stableStringify(value[i]);
    return text + ']';
  }
  const map = value as Record<string, unknown>;
  const keys = Object.keys(map).sort();
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (map[key] === undefined) continue;
    text += (text.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + stableStringify(map[key]);
  }
  return text + '}';
}
