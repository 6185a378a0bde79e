/**
 * The graph a GHN consumes, as the official code builds it: one node per predicted parameter tensor
 * plus a few op nodes, in topological order with the input at 0, and edges labelled with
 * shortest-path distances (1 = real edge, >1 = virtual edge).
 */

/** Node vocabulary in embedding-row order (ppuda PRIMITIVES_DEEPNETS1M). */
export const GHN_PRIMITIVES = [
  'max_pool',
  'avg_pool',
  'sep_conv',
  'dil_conv',
  'conv',
  'msa',
  'cse',
  'sum',
  'concat',
  'input',
  'bias',
  'bn',
  'ln',
  'pos_enc',
  'glob_avg',
] as const;

export type GhnOp = (typeof GHN_PRIMITIVES)[number];

/** Ops whose nodes stand for a parameter tensor; every other op is a parameter-free node. */
export const GHN_PARAMETER_OPS: ReadonlySet<GhnOp> = new Set<GhnOp>([
  'sep_conv',
  'dil_conv',
  'conv',
  'bias',
  'bn',
  'ln',
  'pos_enc',
]);

export type GhnBuilderName = 'ghn3' | 'ppuda';

export const DEFAULT_VE_CUTOFF = 50;

export function ghnOpIndex(op: GhnOp): number {
  return GHN_PRIMITIVES.indexOf(op);
}

export function isGhnOp(value: unknown): value is GhnOp {
  return typeof value === 'string' && (GHN_PRIMITIVES as readonly string[]).includes(value);
}

export function isParameterOp(op: GhnOp): boolean {
  return GHN_PARAMETER_OPS.has(op);
}

/** The official `node_info` entry, kept for parameter and pooling nodes. */
export interface GhnNodeInfo {
  cell: number;
  /** Parameter name trimmed at `stem`/`pos_enc`, or the op name for pooling nodes. */
  paramName: string;
  sz: number[] | null;
  lastWeight: boolean;
  lastBias: boolean;
}

export interface GhnNode {
  /** state_dict name for parameter nodes; an autograd-style name otherwise (`input`, `AddBackward0`). */
  name: string;
  op: GhnOp;
  /** Shape fed to the shape encoder (after the builder's rewrites); null when the node has none. */
  shape: number[] | null;
  /** Python class of the module owning the parameter (`Conv2d`, `Linear`, ...); null for op nodes. */
  moduleType: string | null;
  info: GhnNodeInfo | null;
}

/** [src, dst, distance] */
export type GhnEdge = [number, number, number];

export interface GhnGraph {
  arch: string;
  builder: GhnBuilderName;
  veCutoff: number;
  /** Input size without the batch dimension, e.g. [3, 224, 224] or [64]. */
  expectedInputSz: number[];
  nCells: number;
  nodes: GhnNode[];
  /** Every pair within veCutoff hops, in row-major order. */
  edges: GhnEdge[];
  /** Top-level JSON fields this code does not interpret (e.g. `sdpa_patched`), kept for round trips. */
  extra?: Record<string, unknown>;
}
