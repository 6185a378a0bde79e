import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../testing/fixtures';
import { Digraph } from './digraph';
import type { GhnGraph } from './ghn-graph';
import { ghnGraphsEqual } from './ghn-graph-equal';
import { parseGhnGraphJson } from './ghn-graph-json';

function fixture(builder: string, arch: string): GhnGraph {
  return parseGhnGraphJson(JSON.parse(readFileSync(join(fixturesDir('ghn', 'graphs'), builder, `${arch}.json`), 'utf8')));
}

/** The graph with its nodes in another order (edges remapped), as another topological sort gives. */
function permuted(g: GhnGraph, order: number[]): GhnGraph {
  const position = new Map(order.map((old, k) => [old, k]));
  const edges = g.edges
    .map(([s, t, d]) => [position.get(s), position.get(t), d] as [number, number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { ...g, nodes: order.map((i) => ({ ...g.nodes[i], name: g.nodes[i].op === 'sum' ? 'renamed' : g.nodes[i].name })), edges };
}

/** Rebuilds the virtual edges of a graph whose distance-1 edges were changed. */
function withRealEdges(g: GhnGraph, real: [number, number][]): GhnGraph {
  const graph = new Digraph(g.nodes.length);
  for (const [s, t] of real) graph.addEdge(s, t);
  return { ...g, edges: graph.shortestPathTriples(g.veCutoff) };
}

describe('ghnGraphsEqual', () => {
  const tiny = fixture('ghn3', 'tiny_cnn');

  it('ignores node order and the names of parameter-free nodes', () => {
    const n = tiny.nodes.length;
    const order = [0, ...Array.from({ length: n - 1 }, (_, k) => n - 1 - k)];
    expect(ghnGraphsEqual(tiny, permuted(tiny, order))).toEqual({ equal: true, differences: [] });
  });

  it('reports nodes that differ by parameter name, op or shape', () => {
    const other: GhnGraph = { ...tiny, nodes: tiny.nodes.map((node) => ({ ...node })) };
    other.nodes[1] = { ...other.nodes[1], shape: [12, 3, 5, 5] };
    other.nodes[7] = { ...other.nodes[7], name: 'pw2.weight' };
    const result = ghnGraphsEqual(tiny, other);
    expect(result.equal).toBe(false);
    expect(result.differences).toEqual(
      expect.arrayContaining([
        'node only in first: conv1.weight|conv|[12,3,3,3]',
        'node only in second: conv1.weight|conv|[12,3,5,5]',
        'node only in second: pw2.weight|conv|[24,12,1,1]',
      ]),
    );
  });

  it('reports missing edges and wrong distances', () => {
    const real = tiny.edges.filter((e) => e[2] === 1).map(([s, t]) => [s, t] as [number, number]);
    const result = ghnGraphsEqual(tiny, withRealEdges(tiny, real.filter(([s, t]) => !(s === 10 && t === 12))), 1000);
    expect(result.equal).toBe(false);
    expect(result.differences).toContain('edge only in first: sum|- -> concat|- @1');
  });

  it('tells apart graphs that only swap the edges of same-looking nodes', () => {
    // Two sums with equal labels: moving one input from the first sum to the second keeps the
    // labelled edge multiset for that edge but changes the structure.
    const vit = fixture('ghn3', 'vit_tiny');
    const real = vit.edges.filter((e) => e[2] === 1).map(([s, t]) => [s, t] as [number, number]);
    const sums = vit.nodes.flatMap((n, i) => (n.op === 'sum' ? [i] : []));
    const [a, b] = [sums[1], sums[3]];
    const swapped = real.map(([s, t]): [number, number] => (t === a ? [s, b] : t === b ? [s, a] : [s, t]));
    const result = ghnGraphsEqual(vit, withRealEdges(vit, swapped));
    expect(result.equal).toBe(false);
    expect(result.differences.length).toBeGreaterThan(0);
  });

  it('caps the number of reported differences', () => {
    const result = ghnGraphsEqual(tiny, fixture('ghn3', 'resnet18'), 5);
    expect(result.differences).toHaveLength(6);
    expect(result.differences[5]).toMatch(/^\.\.\. and \d+ more$/);
  });
});
