import { CoreError } from '../errors';
import { staticNodes } from './graph-ops';
import { topologicalOrder } from './graph-validate';
import type { ArchitectureGraph, GraphNode, Initializer } from './ir';

export interface GraphDotOptions {
  /** Refuse graphs with more visible op nodes than this (default 2000): the layout would be unreadable and slow. */
  maxNodes?: number;
  /** Label edges with the value shapes from `valueInfo` (default true). */
  edgeShapes?: boolean;
}

export const DEFAULT_MAX_SVG_NODES = 2000;

/**
 * Module path of an exporter node name: `/layer1/layer1.0/conv1/Conv` → `layer1.0.conv1`. The
 * exporter writes a Sequential child as `<parent>.<index>`, so a segment that extends the previous
 * one replaces it.
 */
export function modulePath(nodeName: string): string {
  const segments = nodeName.split('/').slice(1, -1).filter((s) => s !== '');
  const path: string[] = [];
  for (const segment of segments) {
    const last = path[path.length - 1];
    if (last !== undefined && segment.startsWith(`${last}.`)) path[path.length - 1] = segment;
    else path.push(segment);
  }
  return path.join('.');
}

const COLORS: [RegExp, string][] = [
  [/^(Conv|ConvTranspose)$/, '#cfe2ff'],
  [/^(Gemm|MatMul)$/, '#f8d7da'],
  [/Normalization$/, '#d1e7dd'],
  [/Pool$/, '#ffe5d0'],
  [/^(Relu|Sigmoid|HardSwish|HardSigmoid|Clip|Erf|Gelu|Tanh|Softmax|LeakyRelu|Elu|Mish)$/, '#fff3cd'],
  [/^(Add|Mul|Sub|Div)$/, '#e2e3e5'],
];

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, ' ')}"`;
/** A DOT label from lines (each escaped; `\n` joins them). */
const label = (lines: string[]): string => lines.map((l) => quote(l).slice(1, -1)).join('\\n');
const dims = (shape: readonly (number | string)[]): string => (shape.length === 0 ? 'scalar' : shape.join('×'));

/** Short attribute summary worth seeing in a picture (kernel, stride, group, axis, perm). */
function attributeLine(node: GraphNode): string | undefined {
  const a = node.attributes;
  const parts: string[] = [];
  const list = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? v : undefined);
  const kernel = list(a.kernel_shape);
  if (kernel) parts.push(`k${kernel.join('×')}`);
  const strides = list(a.strides);
  if (strides && strides.some((s) => s !== 1)) parts.push(`s${strides.join('×')}`);
  if (typeof a.group === 'number' && a.group !== 1) parts.push(`g${a.group}`);
  const perm = list(a.perm);
  if (perm) parts.push(`perm ${perm.join(',')}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** Parameters consumed by a node, named relative to its module and grouped by shape. */
function parameterLines(node: GraphNode, path: string, initializers: Map<string, Initializer>): string[] {
  const byShape = new Map<string, string[]>();
  for (const input of node.inputs) {
    const t = initializers.get(input);
    if (!t) continue;
    const short = path && t.name.startsWith(`${path}.`) ? t.name.slice(path.length + 1) : t.name;
    const key = dims(t.shape);
    byShape.set(key, [...(byShape.get(key) ?? []), short]);
  }
  return [...byShape].map(([shape, names]) => `${names.join(', ')}: ${shape}`);
}

function nodeLines(node: GraphNode, initializers: Map<string, Initializer>): string[] {
  const path = modulePath(node.name);
  const lines = [node.opType];
  // `Conv` / `Conv_3` say nothing the op type does not.
  const suffix = node.name.startsWith(node.opType) ? node.name.slice(node.opType.length) : undefined;
  const plainName = suffix !== undefined && /^(_\d+)?$/.test(suffix);
  if (path) lines.push(path);
  else if (node.name && !node.name.includes('/') && !plainName) lines.push(node.name);
  const attrs = attributeLine(node);
  if (attrs) lines.push(attrs);
  lines.push(...parameterLines(node, path, initializers));
  return lines;
}

/**
 * Graphviz DOT for a graph: a box per op node (op type, module path, key attributes, the
 * parameters it consumes), an ellipse per graph input and output, edges for value flow.
 * Static shape arithmetic (Constant, Shape and what is computed from them alone) is hidden.
 */
export function graphToDot(g: ArchitectureGraph, opts: GraphDotOptions = {}): string {
  const order = topologicalOrder(g);
  const hidden = staticNodes(g, order);
  const visible = g.nodes.filter((n) => !hidden.has(n));
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_SVG_NODES;
  if (visible.length > maxNodes) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `graph "${g.name}" has ${visible.length} op nodes to draw, more than maxNodes=${maxNodes}; raise maxNodes to draw it anyway`,
      { nodes: visible.length, maxNodes },
    );
  }
  const initializers = new Map(g.initializers.map((t) => [t.name, t]));
  const shapes = new Map((g.valueInfo ?? []).map((v) => [v.name, v.shape]));
  for (const v of [...g.inputs, ...g.outputs]) shapes.set(v.name, v.shape);
  const edgeShapes = opts.edgeShapes ?? true;
  const producer = new Map<string, string>();
  const lines = [
    `digraph ${quote(g.name || 'graph')} {`,
    '  rankdir=TB;',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=8, color="#555555"];',
  ];
  g.inputs.forEach((v, i) => {
    producer.set(v.name, `in${i}`);
    lines.push(`  in${i} [shape=ellipse, fillcolor="#e7f1ff", label="${label([v.name, dims(v.shape)])}"];`);
  });
  const index = new Map(g.nodes.map((n, i) => [n, i]));
  for (const node of visible) {
    const id = `n${index.get(node)}`;
    for (const o of node.outputs) if (o !== '') producer.set(o, id);
    const fill = COLORS.find(([re]) => re.test(node.opType))?.[1];
    const style = fill ? `, fillcolor="${fill}"` : '';
    lines.push(`  ${id} [label="${label(nodeLines(node, initializers))}"${style}];`);
  }
  const edge = (value: string, to: string): void => {
    const from = producer.get(value);
    if (!from) return;
    const shape = edgeShapes ? shapes.get(value) : undefined;
    lines.push(`  ${from} -> ${to}${shape ? ` [label="${label([dims(shape)])}"]` : ''};`);
  };
  for (const node of visible) {
    const seen = new Set<string>();
    for (const input of node.inputs) {
      if (input === '' || seen.has(input)) continue;
      seen.add(input);
      edge(input, `n${index.get(node)}`);
    }
  }
  g.outputs.forEach((v, i) => {
    lines.push(`  out${i} [shape=ellipse, fillcolor="#e7f1ff", label="${label([v.name, dims(v.shape)])}"];`);
    edge(v.name, `out${i}`);
  });
  lines.push('}');
  return lines.join('\n');
}
