// @ts-check
/** SRT and WebVTT writers for cue lists. */

/** @typedef {{ start: number, end: number, lines: string[] }} Cue */

/** @param {number} seconds @param {string} separator */
function timestamp(seconds, separator) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (/** @type {number} */ n, /** @type {number} */ w) => String(n).padStart(w, '0');
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${separator}${pad(ms % 1000, 3)}`;
}

/** @param {Cue[]} cues */
export function toSrt(cues) {
  return cues
    .map((cue, i) => `${i + 1}\n${timestamp(cue.start, ',')} --> ${timestamp(cue.end, ',')}\n${cue.lines.join('\n')}\n`)
    .join('\n');
}

/** WebVTT forbids "-->" in cue text; a blank line would end the cue early. @param {string} line */
function vttSafe(line) {
  return line.replace(/-->/g, '→').replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** @param {Cue[]} cues @param {string} [language] */
export function toVtt(cues, language) {
  const header = language ? `WEBVTT\nLanguage: ${language}\n` : 'WEBVTT\n';
  const body = cues
    .map((cue, i) => `${i + 1}\n${timestamp(cue.start, '.')} --> ${timestamp(cue.end, '.')}\n${cue.lines.map(vttSafe).join('\n')}\n`)
    .join('\n');
  return `${header}\n${body}`;
}
