// @ts-check
/**
 * Subtitle cue building from word times. Rules (the usual broadcast limits):
 * at most MAX_LINES lines of MAX_LINE_CHARS characters, MIN_S..MAX_S seconds per cue, no overlaps,
 * at most MAX_CPS characters per second where the following silence allows extending the cue.
 */

/** @typedef {{ word: string, start: number, end: number, confidence?: number }} Word */
/** @typedef {{ start: number, end: number }} Span */
/** @typedef {{ start: number, end: number, text: string, lines: string[] }} Cue */

export const LIMITS = Object.freeze({
  maxLineChars: 42,
  maxLines: 2,
  minDuration: 0.8,
  maxDuration: 7,
  maxCps: 20,
  /** gap kept between consecutive cues so players never show two at once */
  minGap: 0.04,
  /** a pause this long between words ends a phrase when no VAD segments are given */
  phraseGap: 0.6,
});

/**
 * Wraps text into at most two balanced lines of at most maxLineChars, or null if it cannot fit.
 * @param {string} text
 * @param {number} [maxLineChars]
 * @returns {string[] | null}
 */
export function wrapLines(text, maxLineChars = LIMITS.maxLineChars) {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= maxLineChars) return [clean];
  const words = clean.split(' ');
  /** @type {string[] | null} */
  let best = null;
  let bestLongest = Infinity;
  for (let i = 1; i < words.length; i++) {
    const first = words.slice(0, i).join(' ');
    const second = words.slice(i).join(' ');
    const longest = Math.max(first.length, second.length);
    if (longest <= maxLineChars && longest < bestLongest) {
      best = [first, second];
      bestLongest = longest;
    }
  }
  return best;
}

/** @param {Word[]} words */
export function joinWords(words) {
  return words.map((w) => w.word).join(' ');
}

/**
 * Splits words into phrases: by VAD segment (word midpoint) when segments are given, else at pauses.
 * @param {Word[]} words
 * @param {Span[]} [segments]
 * @returns {Word[][]}
 */
export function groupIntoPhrases(words, segments) {
  /** @type {Word[][]} */
  const phrases = [];
  let currentKey = /** @type {number | null} */ (null);
  let previous = /** @type {Word | null} */ (null);
  for (const word of words) {
    const key = segments && segments.length ? segmentIndex(word, segments) : null;
    const startsNew =
      previous === null ||
      (segments && segments.length ? key !== currentKey : word.start - previous.end >= LIMITS.phraseGap);
    if (startsNew) phrases.push([]);
    phrases[phrases.length - 1].push(word);
    currentKey = key;
    previous = word;
  }
  return phrases;
}

/** @param {Word} word @param {Span[]} segments nearest segment to the word's midpoint */
function segmentIndex(word, segments) {
  const mid = (word.start + word.end) / 2;
  let best = 0;
  let bestDistance = Infinity;
  segments.forEach((s, i) => {
    const distance = mid < s.start ? s.start - mid : mid > s.end ? mid - s.end : 0;
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  });
  return best;
}

/**
 * Splits a phrase into chunks that each fit the line and duration limits, cutting at the
 * largest pause near the balanced position.
 * @param {Word[]} phrase
 * @returns {Word[][]}
 */
export function splitPhrase(phrase) {
  if (fits(phrase)) return [phrase];
  if (phrase.length < 2) return [phrase];
  const totalChars = joinWords(phrase).length;
  let bestCut = 1;
  let bestScore = -Infinity;
  let chars = 0;
  for (let i = 1; i < phrase.length; i++) {
    chars += phrase[i - 1].word.length + 1;
    const balance = Math.abs(chars / totalChars - 0.5); // 0 = perfectly balanced
    const pause = phrase[i].start - phrase[i - 1].end;
    const score = Math.min(pause, 0.5) * 2 - balance;
    if (score > bestScore) {
      bestScore = score;
      bestCut = i;
    }
  }
  return [...splitPhrase(phrase.slice(0, bestCut)), ...splitPhrase(phrase.slice(bestCut))];
}

/** @param {Word[]} words */
function fits(words) {
  const duration = words[words.length - 1].end - words[0].start;
  return wrapLines(joinWords(words)) !== null && duration <= LIMITS.maxDuration;
}

/**
 * Sets cue ends: at least minDuration and long enough for maxCps when the silence before the
 * next cue allows, never past the next cue's start (minus minGap) nor maxDuration.
 * @param {{ start: number, end: number, text: string }[]} cues sorted by start
 * @param {number} [mediaEnd]
 */
export function timeCues(cues, mediaEnd = Infinity) {
  return cues.map((cue, i) => {
    const next = cues[i + 1];
    const limit = Math.min(next ? next.start - LIMITS.minGap : mediaEnd, cue.start + LIMITS.maxDuration);
    const wanted = Math.max(cue.end, cue.start + LIMITS.minDuration, cue.start + cue.text.length / LIMITS.maxCps);
    const end = Math.max(cue.end > limit ? limit : cue.end, Math.min(wanted, limit));
    return { ...cue, end: round(end) };
  });
}

/** @param {number} t */
function round(t) {
  return Math.round(t * 1000) / 1000;
}

/**
 * Builds cues from words (and optional VAD segments).
 * @param {Word[]} words
 * @param {{ segments?: Span[], mediaEnd?: number }} [options]
 * @returns {Cue[]}
 */
export function buildCues(words, options = {}) {
  const sorted = [...words].filter((w) => w.word.trim()).sort((a, b) => a.start - b.start);
  const chunks = groupIntoPhrases(sorted, options.segments).flatMap(splitPhrase);
  const raw = chunks.map((chunk) => ({
    start: round(chunk[0].start),
    end: round(chunk[chunk.length - 1].end),
    text: joinWords(chunk),
  }));
  return timeCues(raw, options.mediaEnd).map((cue) => ({ ...cue, lines: wrapLines(cue.text) ?? [cue.text] }));
}

/**
 * Fits a translated text into a cue: wraps it, or splits the cue in time (proportionally to
 * characters, at word boundaries) when the text is longer than two lines.
 * @param {{ start: number, end: number }} span
 * @param {string} text
 * @returns {Cue[]}
 */
export function fitText(span, text) {
  const clean = text.replace(/\s+/g, ' ').trim();
  const lines = wrapLines(clean);
  const words = clean.split(' ');
  if (lines || words.length < 2) return [{ start: span.start, end: span.end, text: clean, lines: lines ?? [clean] }];
  const half = clean.length / 2;
  let cut = 1;
  for (let chars = 0; cut < words.length - 1; cut++) {
    chars += words[cut - 1].length + 1;
    if (chars >= half) break;
  }
  const first = words.slice(0, cut).join(' ');
  const second = words.slice(cut).join(' ');
  const middle = round(span.start + ((span.end - span.start) * first.length) / (first.length + second.length));
  return [
    ...fitText({ start: span.start, end: round(middle - LIMITS.minGap / 2) }, first),
    ...fitText({ start: round(middle + LIMITS.minGap / 2), end: span.end }, second),
  ];
}
