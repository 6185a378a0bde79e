import { isParameterOp, type GhnGraph, type GhnNode } from './ghn-graph';

export interface GhnGraphComparison {
  equal: boolean;
  /** Human-readable differences (at most `maxDifferences`, then a count of the rest). */
  differences: string[];
}

/**
 * GHN graph identity: the same nodes (parameter nodes by parameter name, op and shape;
 * other nodes by op and shape) and the same edges with the same distances. Node order and the
 * names of parameter-free nodes do not matter. Edges are compared as labelled multisets; as
 * parameter-free nodes share labels, the graphs must also agree after two rounds of neighbourhood
 * refinement (Weisfeiler-Lehman), which tells apart graphs that only swap such nodes' edges.
 */
export function ghnGraphsEqual(a: GhnGraph, b: GhnGraph, maxDifferences = 20): GhnGraphComparison {
  const differences: string[] = [];
  const keysA = a.nodes.map(nodeKey);
  const keysB = b.nodes.map(nodeKey);
  compareMultisets(keysA, keysB, 'node', differences);
  compareMultisets(edgeLabels(a, keysA), edgeLabels(b, keysB), 'edge', differences);
  if (differences.length === 0) {
    const [refinedA, refinedB] = refine(a, b, keysA, keysB, 2);
    const countsA = counts(refinedA.map((r, i) => `${r}\u0000${keysA[i]}`));
    const countsB = counts(refinedB.map((r, i) => `${r}\u0000${keysB[i]}`));
    for (const [label, n] of countsA) {
      if ((countsB.get(label) ?? 0) !== n) {
        differences.push(`node ${label.split('\u0000')[1]} has different surroundings (same labelled edge multisets)`);
      }
    }
  }
  if (differences.length > maxDifferences) {
    const rest = differences.length - maxDifferences;
    differences.splice(maxDifferences, rest, `... and ${rest} more`);
  }
  return { equal: differences.length === 0, differences };
}

/** The identity key of a node: `name|op|shape` for parameter nodes, `op|shape` otherwise. */
export function nodeKey(node: GhnNode): string {
  const shape = node.shape === null ? '-' : `[${node.shape.join(',')}]`;
  return isParameterOp(node.op) ? `${node.name}|${node.op}|${shape}` : `${node.op}|${shape}`;
}

function edgeLabels(g: GhnGraph, keys: string[]): string[] {
  return g.edges.map(([s, t, d]) => `${keys[s] ?? `#${s}`} -> ${keys[t] ?? `#${t}`} @${d}`);
}

function compareMultisets(a: string[], b: string[], what: string, out: string[]): void {
  const ca = counts(a);
  const cb = counts(b);
  if (a.length !== b.length) out.push(`${what} count ${a.length} vs ${b.length}`);
  for (const [k, n] of ca) {
    const m = cb.get(k) ?? 0;
    if (n > m) out.push(`${what} only in first${n - m > 1 ? ` (×${n - m})` : ''}: ${k}`);
  }
  for (const [k, m] of cb) {
    const n = ca.get(k) ?? 0;
    if (m > n) out.push(`${what} only in second${m - n > 1 ? ` (×${m - n})` : ''}: ${k}`);
  }
}

function counts(values: string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const v of values) map.set(v, (map.get(v) ?? 0) + 1);
  return map;
}

/** Refined node colours for both graphs, with one shared dictionary so colours are comparable. */
function refine(a: GhnGraph, b: GhnGraph, keysA: string[], keysB: string[], rounds: number): [number[], number[]] {
  const dictionary = new Map<string, number>();
  const colour = (s: string): number => {
    let c = dictionary.get(s);
    if (c === undefined) {
      c = dictionary.size;
      dictionary.set(s, c);
    }
    return c;
  };
  let ca = keysA.map(colour);
  let cb = keysB.map(colour);
  for (let r = 0; r < rounds; r++) {
    const next = (g: GhnGraph, c: number[]): number[] => {
      const outs: string[][] = c.map(() => []);
      const ins: string[][] = c.map(() => []);
      for (const [s, t, d] of g.edges) {
        outs[s]?.push(`${d}:${c[t]}`);
        ins[t]?.push(`${d}:${c[s]}`);
      }
      return c.map((own, i) => colour(`${r}|${own}|${outs[i].sort().join(',')}|${ins[i].sort().join(',')}`));
    };
    [ca, cb] = [next(a, ca), next(b, cb)];
  }
  return [ca, cb];
}
