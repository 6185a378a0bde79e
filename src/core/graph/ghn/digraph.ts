/**
 * A small mutable directed graph over node indices, with the operations the official builders
 * perform on their dense adjacency matrices (bridging, reindexing, networkx-style sorting and
 * shortest-path lengths). Self-loops are never stored: the official code zeroes the diagonal
 * before anything reads it.
 */
export class Digraph {
  private readonly out: Set<number>[] = [];
  private readonly in: Set<number>[] = [];

  constructor(size = 0) {
    for (let i = 0; i < size; i++) this.addNode();
  }

  get size(): number {
    return this.out.length;
  }

  addNode(): number {
    this.out.push(new Set());
    this.in.push(new Set());
    return this.out.length - 1;
  }

  hasEdge(from: number, to: number): boolean {
    return this.out[from].has(to);
  }

  addEdge(from: number, to: number): void {
    if (from === to) return;
    this.out[from].add(to);
    this.in[to].add(from);
  }

  removeEdge(from: number, to: number): void {
    this.out[from].delete(to);
    this.in[to].delete(from);
  }

  inDegree(node: number): number {
    return this.in[node].size;
  }

  outDegree(node: number): number {
    return this.out[node].size;
  }

  /** Successors in ascending index order (as `np.where(A[i, :])`). */
  successors(node: number): number[] {
    return [...this.out[node]].sort(ascending);
  }

  /** Predecessors in ascending index order (as `np.where(A[:, i])`). */
  predecessors(node: number): number[] {
    return [...this.in[node]].sort(ascending);
  }

  /** Connects every predecessor of `node` to every successor (no self-loops); `node` keeps its edges. */
  bridge(node: number): void {
    const preds = [...this.in[node]];
    for (const s of this.out[node]) {
      for (const p of preds) this.addEdge(p, s);
    }
  }

  /** Moves every edge of `from` onto `to` (in and out), leaving `from` isolated. */
  moveEdges(from: number, to: number): void {
    for (const p of [...this.in[from]]) {
      this.removeEdge(p, from);
      this.addEdge(p, to);
    }
    for (const s of [...this.out[from]]) {
      this.removeEdge(from, s);
      this.addEdge(to, s);
    }
  }

  /** The graph restricted to `order` (old indices), reindexed so that order[k] becomes k. */
  select(order: readonly number[]): Digraph {
    const newIndex = new Int32Array(this.size).fill(-1);
    order.forEach((old, k) => (newIndex[old] = k));
    const result = new Digraph(order.length);
    order.forEach((old, k) => {
      for (const s of this.out[old]) {
        const t = newIndex[s];
        if (t >= 0) result.addEdge(k, t);
      }
    });
    return result;
  }

  clone(): Digraph {
    return this.select([...Array(this.size).keys()]);
  }

  /**
   * networkx `topological_sort` (Kahn by generations): start with the zero-in-degree nodes in index
   * order; each generation is processed in order and a child is appended once its in-degree reaches
   * zero, children scanned in ascending index. Returns null when the graph has a cycle.
   */
  topologicalOrder(): number[] | null {
    const remaining = this.in.map((s) => s.size);
    let generation: number[] = [];
    for (let i = 0; i < this.size; i++) if (remaining[i] === 0) generation.push(i);
    const order: number[] = [];
    while (generation.length > 0) {
      const next: number[] = [];
      for (const node of generation) {
        order.push(node);
        for (const child of this.successors(node)) {
          if (--remaining[child] === 0) next.push(child);
        }
      }
      generation = next;
    }
    return order.length === this.size ? order : null;
  }

  /**
   * Every pair (src ≠ dst) within `cutoff` hops as [src, dst, hops], in row-major order: breadth-first
   * search from each node (networkx `all_pairs_shortest_path_length` with a cutoff).
   */
  shortestPathTriples(cutoff: number): [number, number, number][] {
    const n = this.size;
    const adjacency = this.out.map((s) => Int32Array.from(s));
    const visitedBy = new Int32Array(n).fill(-1);
    const dist = new Int32Array(n);
    const queue = new Int32Array(n);
    const triples: [number, number, number][] = [];
    for (let src = 0; src < n; src++) {
      let head = 0;
      let tail = 0;
      queue[tail++] = src;
      visitedBy[src] = src;
      dist[src] = 0;
      while (head < tail) {
        const node = queue[head++];
        const d = dist[node] + 1;
        if (d > cutoff) break;
        for (const s of adjacency[node]) {
          if (visitedBy[s] === src) continue;
          visitedBy[s] = src;
          dist[s] = d;
          queue[tail++] = s;
        }
      }
      for (let dst = 0; dst < n; dst++) {
        if (dst !== src && visitedBy[dst] === src) triples.push([src, dst, dist[dst]]);
      }
    }
    return triples;
  }

  /** Whether some directed path returns to its start. */
  hasCycle(): boolean {
    return this.topologicalOrder() === null;
  }

  /**
   * The number of simple paths from `from` to `to`, counted up to `cap` (as the official code stops
   * iterating `nx.all_simple_paths` past one). Memoised counts on an acyclic graph; a bounded
   * depth-first enumeration otherwise.
   */
  countPaths(from: number, to: number, cap: number, acyclic: boolean): number {
    if (acyclic) {
      const memo = new Map<number, number>();
      const count = (node: number): number => {
        if (node === to) return 1;
        const known = memo.get(node);
        if (known !== undefined) return known;
        let total = 0;
        for (const s of this.out[node]) {
          total += count(s);
          if (total >= cap) break;
        }
        total = Math.min(total, cap);
        memo.set(node, total);
        return total;
      };
      return from === to ? 0 : count(from);
    }
    let found = 0;
    const onPath = new Set<number>([from]);
    const walk = (node: number): void => {
      for (const s of this.out[node]) {
        if (found >= cap) return;
        if (s === to) {
          found++;
        } else if (!onPath.has(s)) {
          onPath.add(s);
          walk(s);
          onPath.delete(s);
        }
      }
    };
    if (from !== to) walk(from);
    return Math.min(found, cap);
  }
}

function ascending(a: number, b: number): number {
  return a - b;
}
