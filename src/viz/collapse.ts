/**
 * Fold namespaces (`cache:*`), foreach jobs (`*@film1`) and stage families (`compile@*`: one stage of a foreach
 * over all its items) into group nodes so big pipelines stay readable. Pure: the page folds with it too.
 */
import type { CollapseMode, StageState, VizGraph, VizNode } from './model.js';
import { URGENCY, mostUrgent } from './states.js';

/** Above this many nodes, `auto` starts folding. */
export const DEFAULT_COLLAPSE_THRESHOLD = 16;
/** Member reasons copied into a group's reasons (the rest are counted). */
const MAX_GROUP_REASONS = 3;

export const namespaceGroupId = (namespace: string): string => `${namespace}:*`;
export const jobGroupId = (job: string): string => `*@${job}`;
/** A stage family: the stage name without its item suffix (`compile@a`, `compile@b` … → `compile@*`). */
export const familyGroupId = (template: string): string => `${template}@*`;

export type GroupKind = 'namespace' | 'job' | 'family';
type GroupOf = (node: VizNode) => string | undefined;

export function collapse(graph: VizGraph, mode: CollapseMode, threshold = DEFAULT_COLLAPSE_THRESHOLD): VizGraph {
  if (mode === 'none') return graph;
  // jobs of one stage each (a foreach over 50 files of one `compile`) fold by family instead
  if (mode === 'all') return foldBy(foldBy(graph, (n) => byNamespace(n) ?? byJob(n)), byFamily);
  if (graph.nodes.length <= threshold) return graph;
  const folded = foldBy(graph, byNamespace);
  if (folded.nodes.length <= threshold) return folded;
  // instances of one foreach template fold together, so the folded graph keeps the pipeline's shape
  return foldBy(folded, byFamily);
}

/** The group of each kind a (not yet folded) node belongs to, if any. */
export const GROUP_OF: Record<GroupKind, GroupOf> = {
  namespace: (n) => (n.kind !== 'group' && n.namespace ? namespaceGroupId(n.namespace) : undefined),
  job: (n) => (n.kind !== 'group' && n.job ? jobGroupId(n.job) : undefined),
  family: (n) => (n.kind !== 'group' && n.job && n.template ? familyGroupId(n.template) : undefined),
};
const { namespace: byNamespace, job: byJob, family: byFamily } = GROUP_OF;

/** Replace every group of two or more nodes with one group node; edges are re-pointed and deduplicated. */
export function foldBy(graph: VizGraph, groupOf: GroupOf): VizGraph {
  const members = new Map<string, VizNode[]>();
  for (const node of graph.nodes) {
    const group = groupOf(node);
    if (group === undefined) continue;
    const list = members.get(group);
    if (list) list.push(node);
    else members.set(group, [node]);
  }
  for (const [group, nodes] of members) if (nodes.length < 2) members.delete(group);

  const representative = new Map<string, string>();
  for (const [group, nodes] of members) for (const node of nodes) representative.set(node.id, group);
  const target = (id: string): string => representative.get(id) ?? id;

  const nodes: VizNode[] = [];
  const emitted = new Set<string>();
  for (const node of graph.nodes) {
    const id = target(node.id);
    if (emitted.has(id)) continue;
    emitted.add(id);
    nodes.push(id === node.id ? node : groupNode(id, members.get(id)!));
  }
  return { nodes, edges: dedupeEdges(graph.edges.map((e) => ({ from: target(e.from), to: target(e.to) }))) };
}

function dedupeEdges(edges: VizGraph['edges']): VizGraph['edges'] {
  const seen = new Set<string>();
  return edges.filter((edge) => {
    const key = `${edge.from}\u0000${edge.to}`;
    if (edge.from === edge.to || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function groupNode(id: string, nodes: VizNode[]): VizNode {
  const memberIds = nodes.flatMap((n) => n.members ?? [n.id]);
  const states = nodes.map((n) => n.state).filter((s): s is StageState => s !== undefined);
  const shared = <K extends 'namespace' | 'job' | 'template'>(key: K): VizNode[K] =>
    nodes.every((n) => n[key] === nodes[0]![key]) ? nodes[0]![key] : undefined;
  return {
    id,
    kind: 'group',
    desc: `${memberIds.length} stages`,
    namespace: shared('namespace'),
    job: shared('job'),
    template: shared('template'),
    state: mostUrgent(states),
    reasons: groupReasons(nodes),
    deps: unique(nodes.flatMap((n) => n.deps)),
    outs: unique(nodes.flatMap((n) => n.outs)),
    params: {},
    members: memberIds,
  };
}

/** "3 stale, 1 failed" plus the members' own reasons, prefixed with their names. */
function groupReasons(nodes: VizNode[]): string[] | undefined {
  const counts = new Map<string, number>();
  for (const state of URGENCY) counts.set(state, 0);
  for (const n of nodes) if (n.state) counts.set(n.state, counts.get(n.state)! + 1);
  if (![...counts.values()].some((count) => count > 0)) return undefined;
  const summary = [...counts].filter(([, count]) => count > 0).map(([state, count]) => `${count} ${state}`).join(', ');
  const detail = nodes.flatMap((n) => (n.state !== 'fresh' ? (n.reasons ?? []).map((r) => `${n.id}: ${r}`) : []));
  const shown = detail.slice(0, MAX_GROUP_REASONS);
  if (detail.length > shown.length) shown.push(`… and ${detail.length - shown.length} more`);
  return [summary, ...shown];
}

const unique = (values: string[]): string[] => [...new Set(values)];
