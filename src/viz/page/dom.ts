/** Small DOM builders for the side panel and the legend. */
import type { StageState } from '../model.js';
import { STATE_STYLES } from '../states.js';

export function el(tag: string, text?: string | null, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** A link that runs `onClick` instead of navigating. */
export function action(text: string, onClick: () => void): HTMLElement {
  const a = el('a', text) as HTMLAnchorElement;
  a.href = '#';
  a.addEventListener('click', (ev) => {
    ev.preventDefault();
    onClick();
  });
  return a;
}

export function button(text: string, onClick: () => void): HTMLElement {
  const b = el('button', text);
  b.addEventListener('click', onClick);
  return b;
}

export function badge(state: StageState): HTMLElement {
  const s = STATE_STYLES[state];
  const b = el('span', `${s.marker} ${s.label}`, 'badge');
  b.style.background = s.fill;
  b.style.color = s.stroke;
  b.style.borderColor = s.stroke;
  return b;
}
