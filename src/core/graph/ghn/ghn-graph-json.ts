import { CoreError } from '../../errors';
import { Digraph } from './digraph';
import { ghnEdges } from './ghn-features';
import {
  GHN_PRIMITIVES,
  ghnOpIndex,
  isGhnOp,
  isParameterOp,
  type GhnBuilderName,
  type GhnEdge,
  type GhnGraph,
  type GhnNode,
  type GhnNodeInfo,
} from './ghn-graph';

/** The fixtures' `graphs/<builder>/<arch>.json` layout. */
export interface GhnGraphJson {
  arch: string;
  builder: GhnBuilderName;
  ve_cutoff: number;
  expected_input_sz: number[];
  n_nodes: number;
  n_cells: number;
  primitives: string[];
  nodes: GhnNodeJson[];
  node_feat: number[][];
  edges_format: string;
  edges: GhnEdge[];
  in_degree_1hop: number[];
  out_degree_1hop: number[];
  input_dist: number[];
  [extra: string]: unknown;
}

export interface GhnNodeJson {
  index: number;
  name: string;
  op: string;
  op_index: number;
  shape: number[] | null;
  module_type: string | null;
  node_info?: {
    cell: number;
    param_name: string;
    name: string;
    sz: number[] | null;
    last_weight: boolean;
    last_bias: boolean;
  };
}

export const GHN_EDGES_FORMAT =
  '[src, dst, d]: d = shortest-path length (1 = real edge, >1 virtual edge); identical to Graph.edges and to the nonzeros of the dense matrix fed to GHN-3';

/** Far above any real architecture (EfficientNet-V2-L has 816 nodes); bounds validation work. */
export const MAX_GHN_GRAPH_NODES = 20_000;

/** Fields derived from nodes and edges: checked when present, regenerated on output. */
const KNOWN_KEYS = new Set([
  'arch', 'builder', 've_cutoff', 'expected_input_sz', 'n_nodes', 'n_cells', 'primitives', 'nodes',
  'node_feat', 'edges_format', 'edges', 'in_degree_1hop', 'out_degree_1hop', 'input_dist',
]);

/** The GHN graph in the fixtures' JSON layout (derived fields included; `extra` fields kept). */
export function toGhnGraphJson(g: GhnGraph): GhnGraphJson {
  const n = g.nodes.length;
  const inDegree = new Array<number>(n).fill(0);
  const outDegree = new Array<number>(n).fill(0);
  const inputDist = new Array<number>(n).fill(0);
  for (const [s, t, d] of g.edges) {
    if (d === 1) {
      outDegree[s]++;
      inDegree[t]++;
    }
    if (s === 0) inputDist[t] = d;
  }
  const { sdpa_patched: sdpaPatched, ...rest } = g.extra ?? {};
  return {
    arch: g.arch,
    builder: g.builder,
    ve_cutoff: g.veCutoff,
    ...(sdpaPatched !== undefined ? { sdpa_patched: sdpaPatched } : {}),
    expected_input_sz: [...g.expectedInputSz],
    n_nodes: n,
    n_cells: g.nCells,
    primitives: [...GHN_PRIMITIVES],
    nodes: g.nodes.map(nodeToJson),
    node_feat: g.nodes.map((node) => [ghnOpIndex(node.op)]),
    edges_format: GHN_EDGES_FORMAT,
    edges: g.edges.map((e) => [...e] as GhnEdge),
    in_degree_1hop: inDegree,
    out_degree_1hop: outDegree,
    input_dist: inputDist,
    ...rest,
  };
}

function nodeToJson(node: GhnNode, index: number): GhnNodeJson {
  const json: GhnNodeJson = {
    index,
    name: node.name,
    op: node.op,
    op_index: ghnOpIndex(node.op),
    shape: node.shape === null ? null : [...node.shape],
    module_type: node.moduleType,
  };
  if (node.info) {
    json.node_info = {
      cell: node.info.cell,
      param_name: node.info.paramName,
      name: node.op,
      sz: node.info.sz === null ? null : [...node.info.sz],
      last_weight: node.info.lastWeight,
      last_bias: node.info.lastBias,
    };
  }
  return json;
}

/**
 * Parses and validates a GHN graph in the fixtures' JSON layout (an object or its text), e.g. one
 * a client uploads. Edges must be exactly the shortest paths (up to ve_cutoff) of the distance-1
 * edges, in row-major order; derived fields, when present, must agree. Throws
 * CoreError('INVALID_ARGUMENT') naming the first problem.
 */
export function parseGhnGraphJson(json: unknown): GhnGraph {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      fail('', `not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const o = record(value, '');
  const builder = o.builder;
  if (builder !== 'ghn3' && builder !== 'ppuda') fail('builder', "must be 'ghn3' or 'ppuda'");
  const veCutoff = int(o.ve_cutoff, 've_cutoff', 1);
  const nCells = o.n_cells === undefined ? 1 : int(o.n_cells, 'n_cells', 1);
  const rawNodes = array(o.nodes, 'nodes');
  if (rawNodes.length > MAX_GHN_GRAPH_NODES) fail('nodes', `has more than ${MAX_GHN_GRAPH_NODES} nodes`);
  const nodes = rawNodes.map((v, i) => parseNode(v, i, nCells));
  if (nodes.length === 0) fail('nodes', 'is empty');
  if (nodes[0].op !== 'input') fail('nodes[0]', "must be the 'input' node");
  if (nodes.some((node, i) => i > 0 && node.op === 'input')) fail('nodes', "has more than one 'input' node");
  const edges = parseEdges(o.edges, nodes.length, veCutoff);

  const g: GhnGraph = {
    arch: str(o.arch, 'arch'),
    builder,
    veCutoff,
    expectedInputSz: array(o.expected_input_sz, 'expected_input_sz').map((d, i) => int(d, `expected_input_sz[${i}]`, 1)),
    nCells,
    nodes,
    edges,
  };
  const extra = Object.fromEntries(Object.entries(o).filter(([k]) => !KNOWN_KEYS.has(k)));
  if (Object.keys(extra).length > 0) g.extra = extra;
  checkDerivedFields(o, toGhnGraphJson(g));
  return g;
}

function parseNode(value: unknown, index: number, nCells: number): GhnNode {
  const path = `nodes[${index}]`;
  const o = record(value, path);
  if (o.index !== undefined && o.index !== index) fail(`${path}.index`, `must be ${index}`);
  const op = o.op;
  if (!isGhnOp(op)) fail(`${path}.op`, `must be one of ${GHN_PRIMITIVES.join(', ')}`);
  if (o.op_index !== undefined && o.op_index !== ghnOpIndex(op)) fail(`${path}.op_index`, `must be ${ghnOpIndex(op)} for ${op}`);
  const shape = o.shape === null || o.shape === undefined ? null : dims(o.shape, `${path}.shape`);
  if (isParameterOp(op) && shape === null) fail(`${path}.shape`, `is required for a ${op} node`);
  const moduleType = o.module_type === undefined || o.module_type === null ? null : str(o.module_type, `${path}.module_type`);
  let info: GhnNodeInfo | null = null;
  if (o.node_info !== undefined && o.node_info !== null) {
    const ip = `${path}.node_info`;
    const i = record(o.node_info, ip);
    if (i.name !== undefined && i.name !== op) fail(`${ip}.name`, `must be the node's op '${op}'`);
    const cell = i.cell === undefined ? 0 : int(i.cell, `${ip}.cell`, 0);
    if (cell >= nCells) fail(`${ip}.cell`, `must be below n_cells (${nCells})`);
    info = {
      cell,
      paramName: str(i.param_name, `${ip}.param_name`),
      sz: i.sz === null || i.sz === undefined ? null : dims(i.sz, `${ip}.sz`),
      lastWeight: bool(i.last_weight, `${ip}.last_weight`),
      lastBias: bool(i.last_bias, `${ip}.last_bias`),
    };
  }
  return { name: str(o.name, `${path}.name`), op, shape, moduleType, info };
}

function parseEdges(value: unknown, n: number, veCutoff: number): GhnEdge[] {
  const edges = array(value, 'edges').map((e, k): GhnEdge => {
    const triple = array(e, `edges[${k}]`);
    if (triple.length !== 3) fail(`edges[${k}]`, 'must be [src, dst, distance]');
    const [s, t, d] = triple.map((x, j) => int(x, `edges[${k}][${j}]`, 0));
    if (s >= n || t >= n) fail(`edges[${k}]`, `node index out of range (${n} nodes)`);
    if (s === t) fail(`edges[${k}]`, 'is a self-loop');
    if (d < 1 || d > veCutoff) fail(`edges[${k}][2]`, `distance must be within 1..${veCutoff}`);
    return [s, t, d];
  });
  const graph = new Digraph(n);
  for (const [s, t, d] of edges) if (d === 1) graph.addEdge(s, t);
  const expected = ghnEdges(graph, veCutoff);
  const k = expected.findIndex((e, i) => !sameEdge(e, edges[i]));
  if (k >= 0 || edges.length !== expected.length) {
    const at = k >= 0 ? k : Math.min(edges.length, expected.length);
    const want = expected[at] ? JSON.stringify(expected[at]) : 'no more edges';
    fail(`edges[${at}]`, `expected ${want} (edges must be the row-major shortest paths of the distance-1 edges)`);
  }
  return edges;
}

function sameEdge(a: GhnEdge, b: GhnEdge | undefined): boolean {
  return b !== undefined && a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

function checkDerivedFields(input: Record<string, unknown>, derived: GhnGraphJson): void {
  for (const key of ['n_nodes', 'primitives', 'node_feat', 'in_degree_1hop', 'out_degree_1hop', 'input_dist']) {
    if (input[key] !== undefined && JSON.stringify(input[key]) !== JSON.stringify(derived[key])) {
      fail(key, 'disagrees with the nodes and edges');
    }
  }
}

function fail(path: string, problem: string): never {
  throw new CoreError('INVALID_ARGUMENT', `invalid GHN graph JSON: ${path ? `${path} ` : ''}${problem}`, { path });
}

function record(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Record<string, unknown>;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'must be a string');
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be a boolean');
  return v;
}

function int(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(path, `must be an integer ≥ ${min}`);
  return v;
}

function dims(v: unknown, path: string): number[] {
  return array(v, path).map((d, i) => int(d, `${path}[${i}]`, 0));
}
