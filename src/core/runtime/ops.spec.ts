import { createEngine } from './engine';
import { toFloat32Array } from './host-tensor';
import { float, int64, node, opCase, type OpCase } from './testing/op-graphs';
import { useBackend } from './testing/runtime-testing';

/**
 * Kernel semantics (PyTorch/ONNX NCHW) checked against onnxruntime, an independent implementation:
 * the same small graph and data on tfjs-wasm and onnxruntime agree to 1e-4 relative. The cases
 * cover the attribute combinations that TF.js lacks natively (asymmetric pads, ceil_mode,
 * count_include_pad, groups, dilation with stride, transA/alpha/beta, negative steps) and the
 * channels-last layout tracking (slices, transposes, broadcasts, concats next to conv outputs).
 */
const conv = (x: string, w: string, y: string, attrs = {}, bias?: string) =>
  node('Conv', bias ? [x, w, bias] : [x, w], [y], { dilations: [1, 1], group: 1, pads: [0, 0, 0, 0], strides: [1, 1], ...attrs });

const CASES: Record<string, () => OpCase> = {
  'Conv, asymmetric pads and stride 2': () =>
    opCase([conv('x', 'w', 'y', { pads: [0, 1, 1, 2], strides: [2, 2] }, 'b')], { x: [2, 3, 9, 9] }, { w: { shape: [4, 3, 3, 3] }, b: { shape: [4] } }, { y: 4 }),
  'Conv, dilation 2 with stride 2': () =>
    opCase([conv('x', 'w', 'y', { dilations: [2, 2], pads: [2, 2, 2, 2], strides: [2, 2] })], { x: [1, 3, 11, 11] }, { w: { shape: [4, 3, 3, 3] } }, { y: 4 }),
  'Conv, depthwise with channel multiplier': () =>
    opCase([conv('x', 'w', 'y', { group: 3, pads: [1, 1, 1, 1] }, 'b')], { x: [1, 3, 8, 8] }, { w: { shape: [6, 1, 3, 3] }, b: { shape: [6] } }, { y: 4 }),
  'Conv, depthwise with asymmetric pads, stride 2, BatchNorm and ReLU6': () =>
    opCase(
      [conv('x', 'w', 'c', { group: 4, pads: [0, 0, 1, 1], strides: [2, 2] }), node('BatchNormalization', ['c', 'g', 'be', 'm', 'v'], ['n']), node('Clip', ['n', 'lo', 'hi'], ['y'])],
      { x: [1, 4, 8, 8] },
      { w: { shape: [4, 1, 3, 3] }, g: { shape: [4] }, be: { shape: [4] }, m: { shape: [4] }, v: { shape: [4], positive: true }, lo: float([0], []), hi: float([6], []) },
      { y: 4 },
    ),
  'Conv, dilated depthwise': () =>
    opCase([conv('x', 'w', 'y', { group: 3, dilations: [2, 2], pads: [2, 2, 2, 2] })], { x: [1, 3, 7, 7] }, { w: { shape: [3, 1, 3, 3] } }, { y: 4 }),
  'Conv, groups as a block-diagonal filter': () =>
    opCase([conv('x', 'w', 'y', { group: 2, pads: [1, 1, 1, 1] })], { x: [1, 4, 6, 6] }, { w: { shape: [6, 2, 3, 3] } }, { y: 4 }),
  'Conv, many wide groups run one by one': () =>
    opCase([conv('x', 'w', 'y', { group: 64 }, 'b')], { x: [1, 2048, 2, 2] }, { w: { shape: [2048, 32, 1, 1] }, b: { shape: [2048] } }, { y: 4 }),
  'Conv, auto_pad SAME_UPPER': () => {
    const c = conv('x', 'w', 'y', { strides: [2, 2] });
    delete c.attributes.pads;
    c.attributes.auto_pad = 'SAME_UPPER';
    return opCase([c], { x: [1, 2, 7, 7] }, { w: { shape: [3, 2, 3, 3] } }, { y: 4 });
  },
  'Conv with a dynamic weight': () => opCase([conv('x', 'w', 'y', { pads: [1, 1, 1, 1] })], { x: [1, 2, 5, 5], w: [3, 2, 3, 3] }, {}, { y: 4 }),
  'Conv + BatchNormalization + Relu (folded and fused)': () =>
    opCase(
      [conv('x', 'w', 'c', { pads: [1, 1, 1, 1] }), node('BatchNormalization', ['c', 'g', 'be', 'm', 'v'], ['n'], { epsilon: 1e-5 }), node('Relu', ['n'], ['y'])],
      { x: [2, 3, 8, 8] },
      { w: { shape: [4, 3, 3, 3] }, g: { shape: [4] }, be: { shape: [4] }, m: { shape: [4] }, v: { shape: [4], positive: true } },
      { y: 4 },
    ),
  'Conv + BatchNormalization + Clip(0, 6), one-channel bias': () =>
    opCase(
      [conv('x', 'w', 'c', {}, 'b'), node('BatchNormalization', ['c', 'g', 'be', 'm', 'v'], ['n']), node('Clip', ['n', 'lo', 'hi'], ['y'])],
      { x: [1, 3, 5, 5] },
      { w: { shape: [1, 3, 1, 1] }, b: { shape: [1] }, g: { shape: [1] }, be: { shape: [1] }, m: { shape: [1] }, v: { shape: [1], positive: true }, lo: float([0], []), hi: float([6], []) },
      { y: 4 },
    ),
  'MaxPool, pads and ceil_mode': () =>
    opCase(
      [node('MaxPool', ['x'], ['y'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }), node('MaxPool', ['x'], ['z'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })],
      { x: [1, 2, 8, 8] },
      {},
      { y: 4, z: 4 },
    ),
  'MaxPool, ceil_mode without a window starting in padding': () =>
    opCase([node('MaxPool', ['x'], ['y'], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })], { x: [1, 2, 7, 7] }, {}, { y: 4 }),
  'AveragePool, count_include_pad 0 and 1 with ceil_mode': () =>
    opCase(
      [0, 1].map((inc) => node('AveragePool', ['x'], [`y${inc}`], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: inc })),
      { x: [1, 2, 8, 8] },
      {},
      { y0: 4, y1: 4 },
    ),
  'AveragePool, ceil_mode without pads': () =>
    opCase([node('AveragePool', ['x'], ['y'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 })], { x: [1, 2, 7, 7] }, {}, { y: 4 }),
  'GlobalAveragePool, Flatten, Gemm with Relu': () =>
    opCase(
      [conv('x', 'w', 'c'), node('GlobalAveragePool', ['c'], ['p']), node('Flatten', ['p'], ['f'], { axis: 1 }), node('Gemm', ['f', 'fw', 'fb'], ['g'], { alpha: 1, beta: 1, transB: 1 }), node('Relu', ['g'], ['y'])],
      { x: [2, 3, 6, 6] },
      { w: { shape: [5, 3, 3, 3] }, fw: { shape: [7, 5] }, fb: { shape: [7] } },
      { y: 2 },
    ),
  'Gemm, transA with alpha and beta': () =>
    opCase([node('Gemm', ['a', 'b', 'c'], ['y'], { alpha: 0.5, beta: 2, transA: 1 })], { a: [4, 3] }, { b: { shape: [4, 5] }, c: { shape: [5] } }, { y: 2 }),
  'Gemm with a dynamic B': () => opCase([node('Gemm', ['a', 'b'], ['y'], { alpha: 1.5, transB: 1 })], { a: [3, 4], b: [5, 4] }, {}, { y: 2 }),
  'MatMul, batch broadcast and vectors': () =>
    opCase([node('MatMul', ['a', 'b'], ['y']), node('MatMul', ['c', 'v'], ['z'])], { a: [2, 1, 3, 4], b: [5, 4, 6], c: [3, 4] }, { v: { shape: [4] } }, { y: 4, z: 1 }),
  'Softmax and LogSoftmax on inner and last axes': () =>
    opCase([node('Softmax', ['x'], ['y'], { axis: 1 }), node('LogSoftmax', ['x'], ['z'], { axis: -1 })], { x: [2, 3, 4] }, {}, { y: 3, z: 3 }),
  'LayerNormalization over the last two axes': () =>
    opCase([node('LayerNormalization', ['x', 's', 'b'], ['y'], { axis: -2, epsilon: 1e-5 })], { x: [2, 3, 4] }, { s: { shape: [3, 4] }, b: { shape: [3, 4] } }, { y: 3 }),
  'Slice of a conv output: channel steps and a spatial flip': () =>
    opCase(
      [conv('x', 'w', 'c'), node('Slice', ['c', 's0', 'e0', 'a0', 't0'], ['y']), node('Slice', ['c', 's1', 'e1', 'a1', 't1'], ['z'])],
      { x: [1, 2, 6, 6] },
      { w: { shape: [5, 2, 1, 1] }, s0: int64([1]), e0: int64([5]), a0: int64([1]), t0: int64([2]), s1: int64([-1, 1]), e1: int64([-100, 9e18]), a1: int64([3, 2]), t1: int64([-1, 2]) },
      { y: 4, z: 4 },
    ),
  'ConvNeXt-style permutes around LayerNorm': () =>
    opCase(
      [
        conv('x', 'w', 'c'),
        node('Transpose', ['c'], ['t'], { perm: [0, 2, 3, 1] }),
        node('LayerNormalization', ['t', 's', 'b'], ['n'], { axis: -1, epsilon: 1e-6 }),
        node('Transpose', ['n'], ['u'], { perm: [0, 3, 1, 2] }),
        conv('u', 'w2', 'y'),
        node('Transpose', ['c'], ['z'], { perm: [0, 3, 2, 1] }),
      ],
      { x: [1, 3, 5, 5] },
      { w: { shape: [4, 3, 1, 1] }, s: { shape: [4] }, b: { shape: [4] }, w2: { shape: [2, 4, 3, 3] } },
      { y: 4, z: 4 },
    ),
  'broadcasts, reductions, Split and Concat next to conv outputs': () =>
    opCase(
      [
        conv('x', 'w', 'c'),
        node('Mul', ['c', 'k'], ['m']),
        node('Add', ['m', 'one'], ['a']),
        node('Sub', ['row', 'a'], ['r']),
        node('ReduceMean', ['r'], ['y'], { axes: [2, 3], keepdims: 1 }),
        node('ReduceMean', ['a'], ['z'], { axes: [1], keepdims: 0 }),
        node('Split', ['a', 'sizes'], ['s1', 's2'], { axis: 1 }),
        node('Concat', ['s2', 'x', 's1'], ['cat'], { axis: 1 }),
        node('Sigmoid', ['cat'], ['v']),
      ],
      { x: [2, 3, 4, 4] },
      { w: { shape: [4, 3, 1, 1] }, k: { shape: [4, 1, 1] }, one: float([1], []), row: { shape: [4] }, sizes: int64([1, 3]) },
      { y: 4, z: 3, v: 4 },
    ),
  'Gather with negative indices, Expand, Where': () =>
    opCase(
      [
        node('Gather', ['x', 'idx'], ['y'], { axis: 1 }),
        node('Expand', ['col', 'shape'], ['e']),
        node('Greater', ['e', 'zero'], ['g']),
        node('Where', ['g', 'e', 'q'], ['z']),
      ],
      { x: [3, 4, 5], q: [4] },
      { idx: int64([-1, 0]), col: { shape: [3, 1] }, shape: int64([2, 3, 4]), zero: float([0], []) },
      { y: 3, z: 3 },
    ),
  'Gather with indices computed at run time (ArgMax)': () =>
    opCase(
      [node('ArgMax', ['q'], ['am'], { axis: 1, keepdims: 0 }), node('Gather', ['x', 'am'], ['y'], { axis: 1 })],
      { x: [3, 4, 5], q: [2, 4] },
      {},
      { y: 3 },
    ),
  'Pad (reflect, constant)': () =>
    opCase(
      [node('Pad', ['x', 'p'], ['y'], { mode: 'reflect' }), node('Pad', ['x', 'p', 'v'], ['z'], { mode: 'constant' })],
      { x: [1, 2, 4, 4] },
      { p: int64([0, 0, 1, 2, 0, 0, 2, 1]), v: float([0.5], []) },
      { y: 4, z: 4 },
    ),
  'activations': () =>
    opCase(
      [
        node('HardSigmoid', ['x'], ['a'], { alpha: 0.2, beta: 0.5 }),
        node('HardSwish', ['a'], ['b']),
        node('Erf', ['b'], ['c']),
        node('LeakyRelu', ['x'], ['d'], { alpha: 0.1 }),
        node('Elu', ['d'], ['e'], { alpha: 0.7 }),
        node('Clip', ['e', 'lo'], ['f']),
        node('Tanh', ['f'], ['g']),
        node('Mul', ['c', 'g'], ['h']),
        node('Abs', ['h'], ['i']),
        node('Sqrt', ['i'], ['j']),
        node('Pow', ['j', 'two'], ['y']),
      ],
      { x: [2, 5] },
      { lo: float([-0.25], []), two: float([2], []) },
      { y: 2 },
    ),
  'BatchNormalization on 2-D and 4-D inputs': () =>
    opCase(
      [node('BatchNormalization', ['x', 'g', 'b', 'm', 'v'], ['y'], { epsilon: 1e-3 }), node('BatchNormalization', ['u', 'g', 'b', 'm', 'v'], ['z'])],
      { x: [4, 3], u: [2, 3, 2, 2] },
      { g: { shape: [3] }, b: { shape: [3] }, m: { shape: [3] }, v: { shape: [3], positive: true } },
      { y: 2, z: 4 },
    ),
  'Cast to int64 truncates': () =>
    opCase([node('Mul', ['x', 'ten'], ['m']), node('Cast', ['m'], ['y'], { to: 7 })], { x: [3, 4] }, { ten: float([10], []) }, { y: [2, 'I64'] }),
};

describe.each(['wasm', 'cpu'] as const)('tfjs-%s agrees with onnxruntime', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name]();
    const tfjs = await createEngine('tfjs', c.graph, c.weights);
    const ours = await tfjs.run(c.inputs).finally(() => tfjs.dispose());
    const ort = await createEngine('onnxruntime', c.graph, c.weights, { intraOpNumThreads: 1 });
    const theirs = await ort.run(c.inputs).finally(() => ort.dispose());
    for (const output of c.graph.outputs) {
      const [a, b] = [ours[output.name], theirs[output.name]];
      expect({ output: output.name, dtype: a.dtype, shape: a.shape }).toEqual({ output: output.name, dtype: b.dtype, shape: b.shape });
      const [x, y] = [toFloat32Array(a), toFloat32Array(b)];
      const scale = Math.max(1, ...y.map(Math.abs));
      const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
      expect({ output: output.name, worst: worst <= 1e-4 * scale }).toEqual({ output: output.name, worst: true });
    }
  });
});
