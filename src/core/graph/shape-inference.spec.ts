import { CoreError } from '../errors';
import type { ArchitectureGraph, AttributeValue, GraphNode } from './ir';
import { inferShapes } from './shape-inference';
import { op, param, tinyCnn } from './testing-graphs';
import { buildZooModel } from './zoo';

/** A declared dim with the batch bound: `batch*12` with batch 3 → 36. */
function evalDim(d: number | string, batch: number): number {
  if (typeof d === 'number') return d;
  return d.split('*').reduce((p, f) => p * (f === 'batch' ? batch : Number(f)), 1);
}

/** One graph around a single node: named inputs with shapes (and optional constant contents). */
function single(
  opType: string,
  inputs: { shape: number[]; values?: number[]; dtype?: 'F32' | 'I64' }[],
  attributes: Record<string, AttributeValue> = {},
  outputs = 1,
  opset = 17,
): number[][] | undefined[] {
  const nodes: GraphNode[] = [];
  const names = inputs.map((t, i) => {
    if (!t.values) return `x${i}`;
    nodes.push(op('Constant', [], [`k${i}`], { value: { dtype: t.dtype ?? 'I64', shape: t.shape, values: t.values } }));
    return `k${i}`;
  });
  const outs = Array.from({ length: outputs }, (_, i) => `y${i}`);
  nodes.push(op(opType, names, outs, attributes));
  const g: ArchitectureGraph = {
    name: 't',
    opset,
    inputs: inputs.flatMap((t, i) => (t.values ? [] : [{ name: `x${i}`, dtype: 'F32' as const, shape: t.shape }])),
    outputs: outs.map((name) => ({ name, dtype: 'F32' as const, shape: [] })),
    initializers: [],
    nodes,
  };
  const r = inferShapes(g, { useValueInfo: false });
  return outs.map((o) => r.values.get(o)?.shape) as number[][];
}

describe('inferShapes', () => {
  // One model per zoo family (and the ViT shape arithmetic), checked against the zoo's valueInfo
  // with the fallback to valueInfo turned off.
  it.each([
    'alexnet', 'vgg11_bn', 'squeezenet1_0', 'resnext50_32x4d', 'densenet121', 'mobilenet_v3_small', 'mnasnet0_5',
    'efficientnet_b0', 'shufflenet_v2_x0_5', 'regnet_y_400mf', 'googlenet', 'inception_v3', 'convnext_tiny', 'vit_b_32',
  ])('infers every shape of %s as the zoo declares it, at batch 1 and 3', (name) => {
    const g = buildZooModel(name);
    for (const batch of [1, 3]) {
      const input = g.inputs[0].shape.map((d) => evalDim(d, batch));
      const r = inferShapes(g, { useValueInfo: false, inputShapes: { input } });
      const mismatches = [...(g.valueInfo ?? []), ...g.outputs]
        .map((v) => ({ name: v.name, want: v.shape.map((d) => evalDim(d, batch)), got: r.values.get(v.name)?.shape }))
        .filter((m) => m.got?.join() !== m.want.join());
      expect(mismatches.slice(0, 3)).toEqual([]);
    }
  });

  it('folds the ViT shape arithmetic (Shape/Gather/Concat/Where) to constants', () => {
    const g = buildZooModel('vit_b_32');
    const r = inferShapes(g, { inputShapes: { input: [2, 3, 224, 224] } });
    const where = g.nodes.find((n) => n.opType === 'Where') as GraphNode;
    expect(r.values.get(where.outputs[0])?.values).toEqual([2, 1, 1]);
    expect(r.staticNodes.has(where)).toBe(true);
    const convs = g.nodes.filter((n) => n.opType === 'Conv');
    expect(convs.every((n) => !r.staticNodes.has(n))).toBe(true);
  });

  it('falls back to valueInfo with symbolic dims bound, only when the input agrees with its declaration', () => {
    const g = tinyCnn();
    g.nodes[0].opType = 'Einsum'; // no rule
    expect(inferShapes(g, { inputShapes: { input: [5, 3, 8, 8] } }).values.get('c')?.shape).toEqual([5, 4, 8, 8]);
    expect(inferShapes(g, { useValueInfo: false }).values.get('c')).toBeUndefined();
    // A different image size would make the declared shapes wrong: no fallback.
    expect(inferShapes(g, { inputShapes: { input: [1, 3, 16, 16] } }).values.get('c')).toBeUndefined();
  });

  it('rejects an input shape of the wrong rank', () => {
    expect(() => inferShapes(tinyCnn(), { inputShapes: { input: [1, 3, 8] } })).toThrow(CoreError);
  });

  describe('rules', () => {
    const x = (...shape: number[]) => ({ shape });
    const ints = (...values: number[]) => ({ shape: [values.length], values });
    it('pools with ceil_mode drop a window that would start in the padding', () => {
      expect(single('MaxPool', [x(1, 8, 111, 111)], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })[0]).toEqual([1, 8, 55, 55]);
      expect(single('MaxPool', [x(1, 8, 6, 6)], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })[0]).toEqual([1, 8, 4, 4]);
      expect(single('AveragePool', [x(1, 8, 7, 7)], { kernel_shape: [3, 3], strides: [2, 2] })[0]).toEqual([1, 8, 3, 3]);
    });
    it('convolutions: dilation, auto_pad, transpose', () => {
      expect(single('Conv', [x(1, 3, 32, 32), x(8, 3, 3, 3)], { dilations: [2, 2], pads: [2, 2, 2, 2] })[0]).toEqual([1, 8, 32, 32]);
      expect(single('Conv', [x(1, 3, 33, 33), x(8, 3, 3, 3)], { auto_pad: 'SAME_UPPER', strides: [2, 2] })[0]).toEqual([1, 8, 17, 17]);
      expect(single('ConvTranspose', [x(1, 8, 16, 16), x(8, 4, 4, 4)], { strides: [2, 2], pads: [1, 1, 1, 1], group: 2 })[0]).toEqual([1, 8, 32, 32]);
    });
    it('matrix products', () => {
      expect(single('MatMul', [x(5, 1, 4, 6), x(3, 6, 2)])[0]).toEqual([5, 3, 4, 2]);
      expect(single('MatMul', [x(6), x(2, 6, 7)])[0]).toEqual([2, 7]);
      expect(single('MatMul', [x(3, 4), x(5, 6)])[0]).toBeUndefined();
      expect(single('Gemm', [x(6, 4), x(5, 6)], { transA: 1, transB: 1 })[0]).toEqual([4, 5]);
    });
    it('reshape, flatten, slice, split, squeeze', () => {
      expect(single('Reshape', [x(2, 3, 4), ints(0, -1)])[0]).toEqual([2, 12]);
      expect(single('Reshape', [x(2, 3, 4), ints(5, -1)])[0]).toBeUndefined();
      expect(single('Flatten', [x(2, 3, 4)], { axis: -1 })[0]).toEqual([6, 4]);
      expect(single('Slice', [x(4, 10), ints(-3), ints(2 ** 63), ints(1)])[0]).toEqual([4, 3]);
      expect(single('Slice', [x(4, 10), ints(9), ints(-100), ints(1), ints(-2)])[0]).toEqual([4, 5]);
      expect(single('Split', [x(2, 10), ints(3, 7)], { axis: 1 }, 2)).toEqual([[2, 3], [2, 7]]);
      expect(single('Split', [x(2, 10)], { axis: 1, split: [4, 6] }, 2, 11)).toEqual([[2, 4], [2, 6]]);
      expect(single('Split', [x(2, 10)], { axis: 1 }, 2)).toEqual([[2, 5], [2, 5]]);
      expect(single('Squeeze', [x(1, 3, 1)])[0]).toEqual([3]);
      expect(single('Unsqueeze', [x(3, 4), ints(0, -1)])[0]).toEqual([1, 3, 4, 1]);
      expect(single('Unsqueeze', [x(3, 4)], { axes: [1] }, 1, 11)[0]).toEqual([3, 1, 4]);
    });
    it('reductions, gather, concat, expand, pad, resize', () => {
      expect(single('ReduceMean', [x(2, 3, 4, 4)], { axes: [2, 3], keepdims: 0 })[0]).toEqual([2, 3]);
      expect(single('ReduceSum', [x(2, 3, 4), ints(1)])[0]).toEqual([2, 1, 4]);
      expect(single('Gather', [x(5, 6, 7), { shape: [2, 3], values: [0, 1, 2, 3, 4, 0] }], { axis: 1 })[0]).toEqual([5, 2, 3, 7]);
      expect(single('Concat', [x(2, 3), x(2, 5)], { axis: -1 })[0]).toEqual([2, 8]);
      expect(single('Expand', [x(3, 1), ints(2, 1, 4)])[0]).toEqual([2, 3, 4]);
      expect(single('Pad', [x(1, 3, 4, 4), ints(0, 0, 1, 2, 0, 0, 3, 4)])[0]).toEqual([1, 3, 8, 10]);
      expect(single('Resize', [x(1, 3, 4, 4), { shape: [0], values: [] }, { shape: [4], values: [1, 1, 2, 2], dtype: 'F32' }])[0]).toEqual([1, 3, 8, 8]);
      expect(single('Add', [x(2, 1, 4), x(3, 1)])[0]).toEqual([2, 3, 4]);
      expect(single('Add', [x(2, 4), x(3)])[0]).toBeUndefined();
    });
  });

  it('folds integer division, modulo and casts the way ONNX does', () => {
    const g: ArchitectureGraph = {
      name: 't',
      opset: 17,
      inputs: [],
      outputs: [{ name: 'z', dtype: 'I64', shape: [3] }],
      initializers: [param('unused', [1])],
      nodes: [
        op('Constant', [], ['a'], { value: { dtype: 'I64', shape: [3], values: [-7, 7, 9] } }),
        op('Constant', [], ['b'], { value: { dtype: 'I64', shape: [], values: [2] } }),
        op('Div', ['a', 'b'], ['d']),
        op('Mod', ['a', 'b'], ['m']),
        op('Cast', ['d'], ['f'], { to: 1 }),
        op('Add', ['f', 'm'], ['z']),
      ],
    };
    const r = inferShapes(g);
    expect(r.values.get('d')?.values).toEqual([-3, 3, 4]);
    expect(r.values.get('m')?.values).toEqual([1, 1, 1]);
    expect(r.values.get('z')?.values).toEqual([-2, 4, 5]);
    expect(r.staticNodes.size).toBe(6);
  });
});

describe('inferShapes on hostile sizes', () => {
  it('stays quick and finite with enormous declared dims', () => {
    const huge = 2 ** 40;
    const g: ArchitectureGraph = {
      name: 'huge',
      opset: 17,
      inputs: [{ name: 'x', dtype: 'F32', shape: [1, huge] }],
      outputs: [{ name: 'r', dtype: 'I64', shape: [] }],
      initializers: [],
      nodes: [
        op('Constant', [], ['s'], { value: { dtype: 'I64', shape: [1], values: [1] } }),
        op('Constant', [], ['e'], { value: { dtype: 'I64', shape: [1], values: [2 ** 63] } }),
        op('Slice', ['x', 's', 'e', 's'], ['y']),
        op('Constant', [], ['big'], { value: { dtype: 'I64', shape: [2], values: [huge, huge] } }),
        op('ConstantOfShape', ['big'], ['z']),
        op('Constant', [], ['zero'], { value: { dtype: 'I64', shape: [], values: [0] } }),
        op('Constant', [], ['limit'], { value: { dtype: 'I64', shape: [], values: [1e15] } }),
        op('Constant', [], ['one'], { value: { dtype: 'I64', shape: [], values: [1] } }),
        op('Range', ['zero', 'limit', 'one'], ['r']),
      ],
    };
    const started = Date.now();
    const r = inferShapes(g);
    expect(Date.now() - started).toBeLessThan(500);
    expect(r.values.get('y')?.shape).toEqual([1, huge - 1]);
    expect(r.values.get('z')?.values).toBeUndefined();
    expect(r.values.get('r')?.shape).toEqual([1e15]);
  });
});
