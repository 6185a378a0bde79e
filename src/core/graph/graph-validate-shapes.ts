import { CoreError } from '../errors';
import type { ArchitectureGraph, AttributeValue, GraphNode } from './ir';

type Shape = readonly (number | string)[];

/**
 * Shape checks that need no inference, from the declared shapes (graph inputs and outputs,
 * initializers, `valueInfo`): Conv weight rank and channels, Gemm/MatMul inner dimensions,
 * BatchNormalization and LayerNormalization parameter sizes. Symbolic or unknown dims are skipped.
 */
export function checkGraphShapes(g: ArchitectureGraph): void {
  const shapes = new Map<string, Shape>();
  for (const v of g.valueInfo ?? []) shapes.set(v.name, v.shape);
  for (const v of [...g.inputs, ...g.outputs]) shapes.set(v.name, v.shape);
  for (const t of g.initializers) shapes.set(t.name, t.shape);
  g.nodes.forEach((node, index) => {
    const check = CHECKS[node.opType];
    if (!check) return;
    const shapeOf = (i: number): Shape | undefined => {
      const name = node.inputs[i];
      return name ? shapes.get(name) : undefined;
    };
    const fail = (message: string): never => {
      const label = node.name ? `"${node.name}"` : `${index}`;
      throw new CoreError('GRAPH_INVALID', `${node.opType} node ${label}: ${message}`, {
        path: `$.nodes[${index}]`,
        node: node.name,
      });
    };
    check(node, shapeOf, fail, shapes.get(node.outputs[0] ?? ''));
  });
}

type Check = (
  node: GraphNode,
  shapeOf: (input: number) => Shape | undefined,
  fail: (message: string) => never,
  outputShape: Shape | undefined,
) => void;

const fmt = (s: Shape): string => `[${s.join(', ')}]`;
const known = (d: number | string | undefined): d is number => typeof d === 'number';

function intAttr(node: GraphNode, name: string, fallback: number): number {
  const v: AttributeValue | undefined = node.attributes[name];
  return typeof v === 'number' ? v : fallback;
}

function expectVector(s: Shape | undefined, size: number | string | undefined, what: string, fail: (m: string) => never): void {
  if (!s || !known(size)) return;
  if (s.length !== 1 || (known(s[0]) && s[0] !== size)) fail(`${what} has shape ${fmt(s)}, expected [${size}]`);
}

const CHECKS: Record<string, Check> = {
  Conv(node, shapeOf, fail, y) {
    const x = shapeOf(0);
    const w = shapeOf(1);
    if (!w) return;
    const group = intAttr(node, 'group', 1);
    if (w.length < 3) fail(`weight has shape ${fmt(w)}; a convolution weight has rank 3 or more`);
    if (x && x.length !== w.length) fail(`input has rank ${x.length} but the weight ${fmt(w)} has rank ${w.length}`);
    if (x && known(x[1]) && known(w[1]) && x[1] !== w[1] * group) {
      fail(`input has ${x[1]} channels but the weight ${fmt(w)} with group ${group} expects ${w[1] * group}`);
    }
    if (known(w[0]) && w[0] % group !== 0) fail(`weight ${fmt(w)} has ${w[0]} output channels, not divisible by group ${group}`);
    const kernel = node.attributes.kernel_shape;
    if (Array.isArray(kernel) && kernel.join() !== w.slice(2).join()) {
      fail(`kernel_shape [${kernel.join(', ')}] differs from the weight ${fmt(w)}`);
    }
    expectVector(shapeOf(2), w[0], 'bias', fail);
    if (y && known(y[1]) && known(w[0]) && y[1] !== w[0]) fail(`output has ${y[1]} channels, the weight ${fmt(w)} gives ${w[0]}`);
  },
  Gemm(node, shapeOf, fail) {
    const a = shapeOf(0);
    const b = shapeOf(1);
    if (a && a.length !== 2) fail(`A has shape ${fmt(a)}; Gemm takes 2-D operands`);
    if (b && b.length !== 2) fail(`B has shape ${fmt(b)}; Gemm takes 2-D operands`);
    if (!b) return;
    const k1 = a && (intAttr(node, 'transA', 0) ? a[0] : a[1]);
    const k2 = intAttr(node, 'transB', 0) ? b[1] : b[0];
    if (a && known(k1) && known(k2) && k1 !== k2) fail(`inner dimensions differ: A ${fmt(a)}, B ${fmt(b)}`);
    const n = intAttr(node, 'transB', 0) ? b[0] : b[1];
    const c = shapeOf(2);
    const cLast = c && c.length > 0 ? c[c.length - 1] : undefined;
    if (c && (c.length > 2 || (known(cLast) && known(n) && cLast !== n && cLast !== 1))) {
      fail(`C has shape ${fmt(c)}, which does not broadcast to ${n} columns`);
    }
  },
  MatMul(_node, shapeOf, fail) {
    const a = shapeOf(0);
    const b = shapeOf(1);
    if (!a || !b || a.length === 0 || b.length === 0) return;
    const k1 = a[a.length - 1];
    const k2 = b.length === 1 ? b[0] : b[b.length - 2];
    if (known(k1) && known(k2) && k1 !== k2) fail(`inner dimensions differ: ${fmt(a)} x ${fmt(b)}`);
  },
  BatchNormalization(_node, shapeOf, fail) {
    const x = shapeOf(0);
    if (x && x.length < 2) fail(`input has shape ${fmt(x)}; BatchNormalization needs a channel axis`);
    const channels = x?.[1];
    ['scale', 'bias', 'mean', 'var'].forEach((what, i) => expectVector(shapeOf(i + 1), channels, what, fail));
  },
  LayerNormalization(node, shapeOf, fail) {
    const x = shapeOf(0);
    const scale = shapeOf(1);
    if (!x || !scale) return;
    const axis = intAttr(node, 'axis', -1);
    const normalized = x.slice(axis < 0 ? x.length + axis : axis);
    const matches = scale.length === normalized.length && scale.every((d, i) => !known(d) || !known(normalized[i]) || d === normalized[i]);
    if (!matches) fail(`scale has shape ${fmt(scale)}, the normalised dims of ${fmt(x)} are ${fmt(normalized)}`);
  },
};
