/** Groups that contain themselves through other groups (`a: [b]`, `b: [a]`): found by an iterative depth-first search. */

export interface GroupCycle {
  /** the groups around the cycle, starting where the search entered it */
  groups: string[];
  /** the group whose member closes the cycle, and that member's index in it */
  closingGroup: string;
  closingIndex: number;
}

export function findGroupCycle(groups: ReadonlyMap<string, readonly string[]>): GroupCycle | undefined {
  const done = new Set<string>();
  for (const root of groups.keys()) {
    if (done.has(root)) continue;
    const found = searchFrom(root, groups, done);
    if (found) return found;
  }
  return undefined;
}

function searchFrom(root: string, groups: ReadonlyMap<string, readonly string[]>, done: Set<string>): GroupCycle | undefined {
  const path: { group: string; next: number }[] = [{ group: root, next: 0 }];
  const onPath = new Map<string, number>([[root, 0]]);
  while (path.length) {
    const top = path[path.length - 1]!;
    const members = groups.get(top.group)!;
    if (top.next >= members.length) {
      path.pop();
      onPath.delete(top.group);
      done.add(top.group);
      continue;
    }
    const index = top.next++;
    const member = members[index]!;
    if (!groups.has(member) || done.has(member)) continue;
    const at = onPath.get(member);
    if (at !== undefined) {
      return { groups: path.slice(at).map((p) => p.group), closingGroup: top.group, closingIndex: index };
    }
    onPath.set(member, path.length);
    path.push({ group: member, next: 0 });
  }
  return undefined;
}
