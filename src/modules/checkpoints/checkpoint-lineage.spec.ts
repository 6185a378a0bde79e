import { buildLineage } from './checkpoint-lineage';
import type { LineageRecord } from './checkpoint.types';

const record = (id: string, parentIds: string[] = []): LineageRecord => ({ id, name: `n-${id}`, kind: parentIds.length ? 'soup' : 'trained', parentIds });

function store(records: LineageRecord[]): { fetch: (ids: readonly string[]) => Promise<LineageRecord[]>; calls: string[][] } {
  const byId = new Map(records.map((r) => [r.id, r]));
  const calls: string[][] = [];
  return {
    calls,
    fetch: async (ids) => {
      calls.push([...ids]);
      return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
    },
  };
}

type Shape = { id: string; truncated: boolean; parents: Shape[] };
const shape = (n: { id: string; truncated: boolean; parents: Shape[] }): Shape => ({ id: n.id, truncated: n.truncated, parents: n.parents.map(shape) });

describe('buildLineage', () => {
  it('builds the tree of a soup of soups, a shared ingredient under each soup, one fetch per level', async () => {
    const records = [record('a'), record('b'), record('c'), record('s1', ['a', 'b']), record('s2', ['b', 'c'])];
    const s = store(records);
    const tree = await buildLineage(record('top', ['s1', 's2']), s.fetch);
    expect(shape(tree)).toEqual({
      id: 'top',
      truncated: false,
      parents: [
        { id: 's1', truncated: false, parents: [{ id: 'a', truncated: false, parents: [] }, { id: 'b', truncated: false, parents: [] }] },
        { id: 's2', truncated: false, parents: [{ id: 'b', truncated: false, parents: [] }, { id: 'c', truncated: false, parents: [] }] },
      ],
    });
    expect(tree.parents[0]).toMatchObject({ name: 'n-s1', kind: 'soup' });
    expect(s.calls).toEqual([['s1', 's2'], ['a', 'b', 'c']]);
  });

  it('stops at the depth bound and marks the nodes whose parents it leaves out', async () => {
    const s = store([record('p1', ['p2']), record('p2', ['p3']), record('p3')]);
    const tree = await buildLineage(record('root', ['p1']), s.fetch, { maxDepth: 2, maxNodes: 100 });
    expect(shape(tree)).toEqual({ id: 'root', truncated: false, parents: [{ id: 'p1', truncated: false, parents: [{ id: 'p2', truncated: true, parents: [] }] }] });
  });

  it('never follows a cycle', async () => {
    const s = store([record('x', ['y']), record('y', ['x'])]);
    const tree = await buildLineage(record('x', ['y']), s.fetch);
    expect(shape(tree)).toEqual({ id: 'x', truncated: false, parents: [{ id: 'y', truncated: true, parents: [] }] });
  });

  it('bounds the number of nodes', async () => {
    const leaves = Array.from({ length: 10 }, (_, i) => record(`l${i}`));
    const tree = await buildLineage(record('root', leaves.map((l) => l.id)), store(leaves).fetch, { maxDepth: 5, maxNodes: 4 });
    expect(tree.parents.map((p) => p.id)).toEqual(['l0', 'l1', 'l2']);
    expect(tree.truncated).toBe(true);
  });
});
