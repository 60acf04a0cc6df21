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

/** A plain key at the start of a line, read in place in the whole text (sticky): the line ends at a newline or at the end */
const PLAIN_KEY_AT = /([A-Za-z0-9_][A-Za-z0-9_.:@-]*?):(?:[ \t\r\n]|$)/y;
const STAGES_LINE = /^stages:[ \t]*(?:#.*)?\r?$/;

/**
 * Undefined unless every line at the map's indentation is a plain key (and no key is given twice). The text is
 * walked by offsets, never split into lines: at 100,000 stages (400,000 lines) the split and the joins back
 * were most of the time of the cut.
 */
export function stageSections(text: string): Sections | undefined {
  const stagesLine = findLine(text, 0, (from, to) => STAGES_LINE.test(text.slice(from, to)));
  if (!stagesLine) return undefined;
  const keys: { name: string; line: number; col: number; from: number }[] = [];
  let indent = -1;
  let end = text.length + 1; // where the lines after the block start (past the text when there are none)
  let line = stagesLine.line + 1; // 0-based, of the line at `from`
  for (let from = stagesLine.next; from <= text.length; line++) {
    const to = lineEnd(text, from);
    const at = leadingSpaces(text, from, to);
    const first = text.charCodeAt(at);
    if (at === to || first === 35 /* # */ || first === 13 /* \r */) {
      from = to + 1;
      continue;
    }
    if (at === from) {
      end = from;
      break;
    }
    if (indent < 0) indent = at - from;
    if (at - from > indent) {
      from = to + 1;
      continue;
    }
    const key = at - from === indent ? keyAt(text, at) : null;
    if (!key) return undefined;
    keys.push({ name: key[1]!, line: line + 1, col: indent + 1, from });
    from = to + 1;
  }
  // a stage's text runs from its key to the next key (or the end of the block); comments between belong to it
  const stages: StageSection[] = keys.map((k, i) => ({
    name: k.name, line: k.line, col: k.col,
    text: text.slice(k.from, (i + 1 < keys.length ? keys[i + 1]!.from : end) - 1),
  }));
  if (new Set(stages.map((st) => st.name)).size !== stages.length) return undefined;
  return { before: text.slice(0, stagesLine.next - 1), after: end > text.length ? '' : text.slice(end), stages };
}

/** The first line (from `from`) that `test` accepts: its 0-based number and where the line after it starts. */
function findLine(text: string, from: number, test: (from: number, to: number) => boolean): { line: number; next: number } | undefined {
  for (let line = 0; from <= text.length; line++) {
    const to = lineEnd(text, from);
    if (test(from, to)) return { line, next: to + 1 };
    from = to + 1;
  }
  return undefined;
}

function keyAt(text: string, at: number): RegExpExecArray | null {
  PLAIN_KEY_AT.lastIndex = at;
  return PLAIN_KEY_AT.exec(text);
}

function lineEnd(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  return newline < 0 ? text.length : newline;
}

function leadingSpaces(text: string, from: number, to: number): number {
  let i = from;
  while (i < to && text.charCodeAt(i) === 32) i++;
  return i;
}
