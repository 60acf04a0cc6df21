/**
 * The pipeline file's text cut into the definition of each stage and the rest (the header), without parsing
 * it: where each stage's key is (for positions) and what changed since the last compile (for incremental
 * compiles). Only a plainly laid out `stages:` block map is cut; anything else gives undefined.
 */

export interface StageSection {
  name: string;
  /** 1-based, of the stage's key */
  line: number;
  col: number;
  /** the key line and every line of its definition */
  text: string;
}

export interface Sections {
  /** the lines up to the `stages:` line (included), and those after the last stage's definition */
  before: string;
  after: string;
  stages: StageSection[];
}

const PLAIN_KEY = /^([A-Za-z0-9_][A-Za-z0-9_.:@-]*?):(?:[ \t\r]|$)/;
const STAGES_LINE = /^stages:[ \t]*(?:#.*)?\r?$/;

/** Undefined unless every line at the map's indentation is a plain key (and no key is given twice). */
export function stageSections(text: string): Sections | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => STAGES_LINE.test(l));
  if (start < 0) return undefined;
  const stages: StageSection[] = [];
  let indent = -1;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    const at = leadingSpaces(line);
    if (at === line.length || line[at] === '#' || line[at] === '\r') continue;
    if (at === 0) {
      end = i;
      break;
    }
    if (indent < 0) indent = at;
    if (at > indent) continue;
    const key = at === indent ? PLAIN_KEY.exec(line.slice(at)) : null;
    if (!key) return undefined;
    stages.push({ name: key[1]!, line: i + 1, col: at + 1, text: '' });
  }
  // a stage's text runs from its key to the next key (or the end of the block); comments between belong to it
  stages.forEach((stage, k) => {
    const last = k + 1 < stages.length ? stages[k + 1]!.line - 1 : end;
    stage.text = lines.slice(stage.line - 1, last).join('\n');
  });
  if (new Set(stages.map((s) => s.name)).size !== stages.length) return undefined;
  return { before: lines.slice(0, start + 1).join('\n'), after: lines.slice(end).join('\n'), stages };
}

function leadingSpaces(line: string): number {
  let i = 0;
  while (i < line.length && line.charCodeAt(i) === 32) i++;
  return i;
}
