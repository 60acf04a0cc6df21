/** The search box: matches on stage names and descriptions, Enter steps through them, Escape clears. */
import type { VizNode } from '../model.js';

export class Search {
  private cursor = -1;

  /** `drawnAs`: the drawn node a stage is part of (itself, or its folded group). */
  constructor(
    private readonly input: HTMLInputElement,
    private readonly info: HTMLElement,
    private readonly stages: VizNode[],
    private readonly drawnAs: (id: string) => string,
  ) {}

  /** Drawn nodes matching the query, or null when the box is empty. */
  matches(): Set<string> | null {
    const q = this.input.value.trim().toLowerCase();
    if (!q) {
      this.info.textContent = '';
      return null;
    }
    const hits = new Set<string>();
    for (const n of this.stages) {
      if (n.id.toLowerCase().includes(q) || n.desc?.toLowerCase().includes(q)) hits.add(this.drawnAs(n.id));
    }
    this.info.textContent = `${hits.size} ${hits.size === 1 ? 'match' : 'matches'}`;
    return hits;
  }

  onInput(handler: () => void): void {
    this.input.addEventListener('input', () => {
      this.cursor = -1;
      handler();
    });
  }

  onStep(handler: (id: string) => void): void {
    this.input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const hits = [...(this.matches() ?? [])];
      if (hits.length === 0) return;
      this.cursor = (this.cursor + 1) % hits.length;
      handler(hits[this.cursor]!);
    });
  }

  onClear(handler: () => void): void {
    this.input.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      this.input.value = '';
      handler();
    });
  }

  focused(): boolean {
    return document.activeElement === this.input;
  }

  focus(): void {
    this.input.focus();
  }
}
