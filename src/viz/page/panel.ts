/** The side panel: a selected stage or folded group, or (with --status) what a run would update. */
import type { VizNode } from '../model.js';
import { STATE_STYLES } from '../states.js';
import type { Folding } from './folding.js';
import { action, badge, button, el } from './dom.js';

export interface PanelContext {
  status: boolean;
  stages: VizNode[];
  stage: (id: string) => VizNode | undefined;
  /** the drawn node (a stage or a folded group) */
  drawn: (id: string) => VizNode | undefined;
  neighbours: (id: string, direction: 'in' | 'out') => string[];
  folding: Folding;
  select: (id: string) => void;
  /** fold or unfold a group, then select `then` */
  toggle: (group: string, then: string) => void;
}

const KIND_NAMES = { namespace: 'Namespace', job: 'Job', family: 'Stage family' } as const;

export class Panel {
  constructor(private readonly root: HTMLElement, private readonly ctx: PanelContext) {}

  showNode(id: string): void {
    const { ctx } = this;
    this.root.textContent = '';
    this.root.appendChild(el('h2', id, 'node-name'));
    const node = ctx.drawn(id);
    if (node?.kind === 'group') this.group(node);
    else this.stage(ctx.stage(id)!);
    this.section('Upstream', this.list(ctx.neighbours(id, 'in'), true));
    this.section('Downstream', this.list(ctx.neighbours(id, 'out'), true));
  }

  /** With --status and nothing selected: what a run would do, and why, stage by stage. */
  showOverview(): void {
    const { ctx } = this;
    this.root.textContent = '';
    this.root.appendChild(el('p', 'Click a stage to see its command, deps, outs, params, last run and state; hover one for its state.', 'muted'));
    if (!ctx.status) return;
    const todo = ctx.stages.filter((n) => n.state !== 'fresh');
    if (todo.length === 0) {
      this.section('State', el('p', 'Every stage is up to date.', 'desc'));
      return;
    }
    const ul = el('ul', null, 'todo');
    for (const n of todo) {
      const li = el('li');
      const style = STATE_STYLES[n.state ?? 'unknown'];
      const mark = el('span', `${style.marker} `, 'marker');
      mark.style.color = style.stroke;
      li.appendChild(mark);
      li.appendChild(action(n.id, () => ctx.select(n.id)));
      if (n.reasons?.length) li.appendChild(el('div', n.reasons.join('; '), 'reason'));
      ul.appendChild(li);
    }
    this.section(`A run would update ${todo.length} of ${ctx.stages.length} stages`, ul);
  }

  private group(node: VizNode): void {
    const { ctx } = this;
    const kind = ctx.folding.groups.get(node.id)?.kind ?? 'job';
    const members = node.members ?? [];
    this.root.appendChild(el('p', `${KIND_NAMES[kind]} folded into one node: ${members.length} stages.`, 'desc'));
    this.root.appendChild(button(`Unfold ${node.id}`, () => ctx.toggle(node.id, members[0]!)));
    if (ctx.status && node.state) this.section('State', badge(node.state));
    this.section('Stages', this.list(members, true));
  }

  private stage(n: VizNode): void {
    const { ctx } = this;
    if (n.desc) this.root.appendChild(el('p', n.desc, 'desc'));
    this.root.appendChild(el('p', n.kind === 'fetch' ? 'model download (fetch)' : 'stage', 'kind'));
    if (ctx.status) {
      const box = el('div');
      box.appendChild(badge(n.state ?? 'unknown'));
      if (n.reasons?.length) box.appendChild(this.list(n.reasons, false));
      this.section('State', box);
    }
    this.section('Command', el('pre', n.cmd || (n.kind === 'fetch' ? '(download into the model cache)' : '—')));
    this.section('Deps', this.list(n.deps, false));
    this.section('Outs', this.list(n.outs, false));
    const hasParams = Object.keys(n.params ?? {}).length > 0;
    this.section('Params', hasParams ? el('pre', JSON.stringify(n.params, null, 2)) : el('p', '—', 'muted'));
    const last = n.lastRun ? `${new Date(n.lastRun.at).toLocaleString()} · ${formatMs(n.lastRun.ms)}` : 'never recorded';
    this.section('Last run', el('p', last, n.lastRun ? '' : 'muted'));
    const foldable = ctx.folding.groupsOf(n.id);
    if (foldable.length) {
      const actions = el('div', null, 'actions');
      for (const g of foldable) actions.appendChild(button(`Fold ${g.id}`, () => ctx.toggle(g.id, g.id)));
      this.root.appendChild(actions);
    }
  }

  private section(title: string, body: HTMLElement): void {
    const s = el('section');
    s.appendChild(el('h3', title));
    s.appendChild(body);
    this.root.appendChild(s);
  }

  private list(items: string[], clickable: boolean): HTMLElement {
    const ul = el('ul');
    if (items.length === 0) ul.appendChild(el('li', '—', 'muted'));
    for (const item of items) {
      const li = el('li');
      li.appendChild(clickable ? action(item, () => this.ctx.select(item)) : el('code', item));
      ul.appendChild(li);
    }
    return ul;
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}
