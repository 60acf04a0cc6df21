/** A character grid where lines are drawn as connection masks, so crossings and joins get the right box glyph. */

const UP = 1;
const DOWN = 2;
const LEFT = 4;
const RIGHT = 8;

const GLYPHS: Record<number, string> = {
  [UP]: '│', [DOWN]: '│', [UP | DOWN]: '│', [LEFT]: '─', [RIGHT]: '─', [LEFT | RIGHT]: '─',
  [DOWN | RIGHT]: '┌', [DOWN | LEFT]: '┐', [UP | RIGHT]: '└', [UP | LEFT]: '┘',
  [UP | DOWN | RIGHT]: '├', [UP | DOWN | LEFT]: '┤', [DOWN | LEFT | RIGHT]: '┬', [UP | LEFT | RIGHT]: '┴',
  [UP | DOWN | LEFT | RIGHT]: '┼',
};

export class Canvas {
  private readonly masks: number[][] = [];
  /** cells written as text win over lines; a cell may carry ANSI codes around its one visible character */
  private readonly text: (string | undefined)[][] = [];

  /** A vertical line from row y1 to y2; `openTop`/`openBottom` join it to what is above/below. */
  vertical(x: number, y1: number, y2: number, openTop = false, openBottom = false): void {
    for (let y = y1; y <= y2; y++) {
      this.mark(x, y, (y > y1 || openTop ? UP : 0) | (y < y2 || openBottom ? DOWN : 0));
    }
  }

  horizontal(y: number, x1: number, x2: number): void {
    const [a, b] = x1 <= x2 ? [x1, x2] : [x2, x1];
    for (let x = a; x <= b; x++) this.mark(x, y, (x > a ? LEFT : 0) | (x < b ? RIGHT : 0));
  }

  /** A line end that joins downwards (the `┬` under a box, the top of a drop). */
  joinDown(x: number, y: number): void {
    this.mark(x, y, DOWN);
  }

  put(x: number, y: number, chars: string[]): void {
    const row = (this.text[y] ??= []);
    chars.forEach((char, i) => (row[x + i] = char));
  }

  toLines(): string[] {
    const height = Math.max(this.masks.length, this.text.length);
    return Array.from({ length: height }, (_, y) => this.line(y).replace(/\s+$/, ''));
  }

  private line(y: number): string {
    const masks = this.masks[y] ?? [];
    const text = this.text[y] ?? [];
    const width = Math.max(masks.length, text.length);
    let out = '';
    for (let x = 0; x < width; x++) out += text[x] ?? (masks[x] ? GLYPHS[masks[x]!] : ' ');
    return out;
  }

  private mark(x: number, y: number, mask: number): void {
    const row = (this.masks[y] ??= []);
    row[x] = (row[x] ?? 0) | mask;
  }
}
