/** Namespaces with two or more visible stages, drawn as clusters/subgraphs when not collapsed. */
import type { VizGraph } from './model.js';
import { namespaceGroupId } from './collapse.js';

export interface Cluster {
  label: string;
  ids: string[];
}

export function namespaceClusters(graph: VizGraph): Cluster[] {
  const byNamespace = new Map<string, string[]>();
  for (const node of graph.nodes) {
    if (node.kind === 'group' || !node.namespace) continue;
    const ids = byNamespace.get(node.namespace);
    if (ids) ids.push(node.id);
    else byNamespace.set(node.namespace, [node.id]);
  }
  return [...byNamespace]
    .filter(([, ids]) => ids.length >= 2)
    .map(([namespace, ids]) => ({ label: namespaceGroupId(namespace), ids }));
}

/** What a node is called on screen: its id, plus the member count for groups. */
export function displayName(node: { id: string; kind: string; members?: string[] }): string {
  return node.kind === 'group' && node.members ? `${node.id} (${node.members.length})` : node.id;
}
