/** Which groups (namespaces, jobs, stage families) the page shows folded, and the graph that results. */
import { GROUP_OF, foldBy, type GroupKind } from '../collapse.js';
import type { VizGraph, VizNode } from '../model.js';

export interface Group {
  id: string;
  kind: GroupKind;
  members: string[];
}

/** A stage in several folded groups is drawn in the first of them. */
const PRECEDENCE: GroupKind[] = ['namespace', 'job', 'family'];

export class Folding {
  readonly groups = new Map<string, Group>();
  readonly folded: Set<string>;
  /** per stage, the groups it belongs to, in precedence order */
  private readonly memberOf = new Map<string, string[]>();

  constructor(private readonly graph: VizGraph, initiallyFolded: string[]) {
    for (const node of graph.nodes) {
      for (const kind of PRECEDENCE) {
        const id = GROUP_OF[kind](node);
        if (id !== undefined) this.join(id, kind, node.id);
      }
    }
    for (const [id, group] of this.groups) if (group.members.length < 2) this.groups.delete(id);
    this.folded = new Set(initiallyFolded.filter((id) => this.groups.has(id)));
  }

  /** The drawn graph: every folded group as one node (its most urgent state, its members). */
  shown(): VizGraph {
    return foldBy(this.graph, (node) => this.foldedInto(node));
  }

  /** The folded group a stage is drawn in, if any. */
  foldedInto(node: VizNode): string | undefined {
    return this.memberOf.get(node.id)?.find((id) => this.groups.has(id) && this.folded.has(id));
  }

  /** Groups of a stage that could be folded now. */
  groupsOf(id: string): Group[] {
    return (this.memberOf.get(id) ?? []).flatMap((g) => (this.groups.has(g) ? [this.groups.get(g)!] : []));
  }

  toggle(id: string): void {
    if (!this.folded.delete(id)) this.folded.add(id);
  }

  /** Fold every group of one kind; jobs and families cut the same stages the other way, so one replaces the other. */
  foldAll(kind: GroupKind): void {
    const other: GroupKind | undefined = kind === 'job' ? 'family' : kind === 'family' ? 'job' : undefined;
    for (const group of this.groups.values()) {
      if (group.kind === kind) this.folded.add(group.id);
      else if (group.kind === other) this.folded.delete(group.id);
    }
  }

  unfoldAll(): void {
    this.folded.clear();
  }

  count(kind: GroupKind): number {
    let n = 0;
    for (const group of this.groups.values()) if (group.kind === kind) n++;
    return n;
  }

  private join(id: string, kind: GroupKind, member: string): void {
    const group = this.groups.get(id) ?? this.groups.set(id, { id, kind, members: [] }).get(id)!;
    group.members.push(member);
    const list = this.memberOf.get(member);
    if (list) list.push(id);
    else this.memberOf.set(member, [id]);
  }
}
