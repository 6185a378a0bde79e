import type { LineageNode, LineageRecord } from './checkpoint.types';

export interface LineageBounds {
  /** Levels of parents shown below the root (0: the root alone). */
  maxDepth: number;
  /** Nodes in the whole tree (a checkpoint reached along two paths counts twice). */
  maxNodes: number;
}

export const DEFAULT_LINEAGE_BOUNDS: LineageBounds = { maxDepth: 16, maxNodes: 1000 };

/**
 * Builds the tree of what `root` was made from, fetching parents a level at a time. A checkpoint
 * reached along two paths (a merge of merges sharing an ingredient) appears under each. Parents
 * past the depth or node bound, and a parent already on the path from the root (a cycle, which
 * stored lineage cannot form but a tree must never follow), are left out and mark their child
 * `truncated`.
 */
export async function buildLineage(
  root: LineageRecord,
  fetch: (ids: readonly string[]) => Promise<LineageRecord[]>,
  bounds: LineageBounds = DEFAULT_LINEAGE_BOUNDS,
): Promise<LineageNode> {
  const known = new Map<string, LineageRecord>([[root.id, root]]);
  let frontier = [root.id];
  for (let depth = 0; depth < bounds.maxDepth && frontier.length > 0 && known.size < bounds.maxNodes; depth++) {
    const wanted = [...new Set(frontier.flatMap((id) => known.get(id)?.parentIds ?? []))].filter((id) => !known.has(id));
    for (const record of wanted.length > 0 ? await fetch(wanted) : []) known.set(record.id, record);
    frontier = [...new Set(frontier.flatMap((id) => known.get(id)?.parentIds ?? []))];
  }
  let nodes = 0;
  const build = (record: LineageRecord, depth: number, path: ReadonlySet<string>): LineageNode => {
    nodes++;
    const node: LineageNode = { id: record.id, name: record.name, kind: record.kind, parents: [], truncated: false };
    const onPath = new Set(path).add(record.id);
    for (const parentId of record.parentIds) {
      const parent = known.get(parentId);
      if (!parent || depth >= bounds.maxDepth || onPath.has(parentId) || nodes >= bounds.maxNodes) {
        node.truncated = true;
        continue;
      }
      node.parents.push(build(parent, depth + 1, onPath));
    }
    return node;
  };
  return build(root, 0, new Set());
}
