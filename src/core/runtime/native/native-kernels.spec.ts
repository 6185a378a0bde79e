import * as tf from '@tensorflow/tfjs-core';
import { dilateSpatial } from '../../train/conv-train';
import { useBackend } from '../testing/runtime-testing';
import { loadNativeKernels, type NativeConvGeometry, type NativeKernels, type NativePrimitiveEvent } from './native-kernels';
import { nativeKernelsForTests, nativeKernelsOff } from '../../../../test/utils/native-kernels';

const TOLERANCE = 1e-5;
const native = nativeKernelsForTests();

/** xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const randomData = (size: number, next: () => number) => Float32Array.from({ length: size }, () => next() * 2 - 1);

/** The filter as HWIO with its dilation as zeros between the taps (TF.js convolves strided or dilated, not both). */
function stuffedFilter(w: tf.Tensor4D, g: NativeConvGeometry): tf.Tensor4D {
  const [kh, kw] = g.kernel;
  const [dh, dw] = g.dilations;
  const hwio = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
  const [, , ci, co] = hwio.shape;
  return tf.reshape(dilateSpatial(tf.reshape(hwio, [1, kh, kw, ci * co]), [dh, dw]), [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]);
}

const explicitPads = (g: NativeConvGeometry): tf.backend_util.ExplicitPadding => [[0, 0], [g.pads[0], g.pads[2]], [g.pads[1], g.pads[3]], [0, 0]];
const nhwc = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
const nchw = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]) as tf.Tensor4D;

/**
 * The TF.js reference on the cpu backend, one group at a time in NHWC: tf.conv2d forward, and its
 * Conv2DBackpropInput and Conv2DBackpropFilter kernels for the gradients.
 */
function reference(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor | null, g: NativeConvGeometry, dyOf: (shape: number[]) => tf.Tensor) {
  const filters = tf.split(stuffedFilter(w, g), g.groups, 3) as tf.Tensor4D[];
  const xs = tf.split(nhwc(x), g.groups, 3) as tf.Tensor4D[];
  let y: tf.Tensor = nchw(tf.concat(xs.map((part, i) => tf.conv2d(part, filters[i], g.strides, explicitPads(g))), 3));
  if (b) y = tf.add(y, tf.reshape(b, [1, -1, 1, 1]));
  const dy = dyOf(y.shape);
  const dys = tf.split(nhwc(dy), g.groups, 3) as tf.Tensor4D[];
  const attrs = { strides: g.strides, pad: explicitPads(g), dataFormat: 'NHWC' };
  const dx = nchw(tf.concat(dys.map((d, i) => tf.engine().runKernel('Conv2DBackpropInput', { dy: d, filter: filters[i] }, { ...attrs, inputShape: xs[i].shape }) as tf.Tensor), 3));
  const stuffedGrads = dys.map((d, i) => tf.engine().runKernel('Conv2DBackpropFilter', { x: xs[i], dy: d }, { ...attrs, filterShape: filters[i].shape }) as tf.Tensor4D);
  const [fh, fw, ci, co] = stuffedGrads[0].shape;
  const taps = stuffedGrads.map((s) => tf.stridedSlice(s, [0, 0, 0, 0], [fh, fw, ci, co], [g.dilations[0], g.dilations[1], 1, 1]));
  const dw = tf.transpose(tf.concat(taps, 3), [3, 2, 0, 1]);
  return { y, dy, dx, dw, db: tf.sum(dy, [0, 2, 3]) };
}

/** max |a − b| / max |b|, throwing with the case when it exceeds the tolerance. */
function expectClose(actual: Float32Array, expected: Float32Array | Int32Array | Uint8Array, what: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (!(worst <= TOLERANCE * Math.max(scale, 1e-30))) throw new Error(`${what}: max error ${worst} against scale ${scale}`);
}

/** A random geometry: batch 1–3, dense, grouped or depthwise, odd sizes, strides and dilations 1–2, asymmetric pads. */
function randomGeometry(next: () => number): NativeConvGeometry {
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const kind = pick(0, 2);
  const groups = kind === 0 ? 1 : kind === 1 ? pick(2, 3) : pick(2, 6);
  const inPerGroup = kind === 2 ? 1 : pick(1, 4);
  const outPerGroup = kind === 2 ? pick(1, 2) : pick(1, 4);
  const kernel: [number, number] = [pick(1, 4), pick(1, 4)];
  const dilations: [number, number] = [pick(1, 2), pick(1, 2)];
  const strides: [number, number] = [pick(1, 2), pick(1, 2)];
  const pads: [number, number, number, number] = [pick(0, kernel[0] - 1), pick(0, kernel[1] - 1), pick(0, kernel[0] - 1), pick(0, kernel[1] - 1)];
  const span = (k: number, d: number) => (k - 1) * d + 1;
  const h = Math.max(pick(1, 13), span(kernel[0], dilations[0]) - pads[0] - pads[2]);
  const w = Math.max(pick(1, 13), span(kernel[1], dilations[1]) - pads[1] - pads[3]);
  return { input: [pick(1, 3), groups * inPerGroup, h, w], outChannels: groups * outPerGroup, kernel, strides, dilations, pads, groups, bias: next() < 0.5 };
}

function checkCase(k: NativeKernels, g: NativeConvGeometry, seed: number): void {
  const next = rng(seed);
  const what = `case ${seed} ${JSON.stringify(g)}`;
  tf.tidy(() => {
    const [n, c, h, w] = g.input;
    const xData = randomData(n * c * h * w, next);
    const wShape: [number, number, number, number] = [g.outChannels, c / g.groups, ...g.kernel];
    const wData = randomData(wShape.reduce((a, b) => a * b), next);
    const bData = g.bias ? randomData(g.outChannels, next) : null;
    const x = tf.tensor4d(xData, g.input);
    const filter = tf.tensor4d(wData, wShape);
    const b = bData ? tf.tensor1d(bData) : null;
    let dyData = new Float32Array(0);
    const ref = reference(x, filter, b, g, (shape) => {
      dyData = randomData(shape.reduce((p, q) => p * q), next);
      return tf.tensor(dyData, shape);
    });
    expectClose(k.convForward(g, xData, wData, bData), ref.y.dataSync() as Float32Array, `${what} forward`);
    expectClose(k.convBackwardData(g, dyData, wData), ref.dx.dataSync() as Float32Array, `${what} input gradient`);
    const { dw, db } = k.convBackwardWeights(g, xData, dyData);
    expectClose(dw, ref.dw.dataSync() as Float32Array, `${what} filter gradient`);
    if (g.bias) expectClose(db!, ref.db.dataSync() as Float32Array, `${what} bias gradient`);
    else expect(db).toBeNull();
  });
}

const describeNative = native ? describe : describe.skip;

describe('native kernels (oneDNN) without the addon', () => {
  it('are reported missing with the reason, never half-loaded', () => {
    const loaded = loadNativeKernels({ addonPath: '/nonexistent/weightsmith_dnnl.node' });
    expect(loaded.kernels).toBeNull();
    expect(loaded.reason).toMatch(/not built.*build:native/);
  });
});

describeNative('native kernels (oneDNN) equal the TF.js reference', () => {
  const k = native!;
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('on 40 random convolutions: forward, input, filter and bias gradients', () => {
    const next = rng(2024);
    for (let i = 0; i < 40; i++) checkCase(k, randomGeometry(next), 1000 + i);
  });

  it('on the edge cases: batch 1, 1×1 input, depthwise with stride 2 and dilation 2, kernel as large as the padded input', () => {
    const cases: NativeConvGeometry[] = [
      { input: [1, 1, 1, 1], outChannels: 1, kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 1, bias: true },
      { input: [1, 4, 9, 7], outChannels: 4, kernel: [3, 3], strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2], groups: 4, bias: false },
      { input: [1, 3, 5, 5], outChannels: 2, kernel: [7, 7], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 1, bias: true },
      { input: [2, 6, 8, 8], outChannels: 12, kernel: [3, 1], strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 0], groups: 6, bias: true },
    ];
    cases.forEach((g, i) => checkCase(k, g, 77 + i));
  });

  it('run resnet20 shapes on optimized (non-reference) implementations, and count any reference one', () => {
    const before = k.stats();
    // [in channels, out channels, input size, stride]: the stem, a block, and the two downsamplings.
    const layers: [number, number, number, number][] = [
      [1, 16, 28, 1],
      [16, 16, 28, 1],
      [16, 32, 28, 2],
      [32, 64, 14, 2],
    ];
    for (const [c, o, size, s] of layers) {
      const g: NativeConvGeometry = { input: [8, c, size, size], outChannels: o, kernel: [3, 3], strides: [s, s], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 1, bias: false };
      const x = new Float32Array(8 * c * size * size);
      const w = new Float32Array(o * c * 9);
      const y = k.convForward(g, x, w, null);
      k.convBackwardData(g, y, w);
      k.convBackwardWeights(g, x, y);
    }
    const after = k.stats();
    expect(after.primitives).toBeGreaterThan(before.primitives);
    expect(after.refPrimitives).toBe(0);
    expect(Object.keys(after.implementations).every((name) => !name.includes('ref'))).toBe(true);
  });

  it('announce each new primitive once, with its implementation', () => {
    const events: NativePrimitiveEvent[] = [];
    const listening = loadNativeKernels({ threads: 1, onPrimitive: (e) => events.push(e) }).kernels!;
    const g: NativeConvGeometry = { input: [1, 3, 11, 9], outChannels: 5, kernel: [2, 3], strides: [1, 2], dilations: [1, 1], pads: [0, 1, 1, 0], groups: 1, bias: true };
    for (let i = 0; i < 2; i++) listening.convForward(g, new Float32Array(3 * 11 * 9), new Float32Array(5 * 3 * 6), new Float32Array(5));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'conv_fwd', reference: events[0].implementation.includes('ref') });
    expect(events[0].implementation).not.toBe('');
    expect(events[0].shape).toContain('1x3x11x9');
  });

  it('matmul equals tf.matMul with and without transposes', () => {
    const next = rng(5);
    for (const [m, kk, n] of [
      [1, 1, 1],
      [3, 7, 5],
      [128, 64, 10],
    ]) {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const a = randomData(m * kk, next);
        const b = randomData(kk * n, next);
        const expected = tf.tidy(() => tf.matMul(tf.tensor2d(a, ta ? [kk, m] : [m, kk]), tf.tensor2d(b, tb ? [n, kk] : [kk, n]), ta, tb).dataSync() as Float32Array);
        expectClose(k.matmul(m, kk, n, a, b, ta, tb), expected, `matmul ${m}x${kk}x${n} ${ta} ${tb}`);
      }
    }
  });

  it('rejects buffers that do not match the geometry instead of reading past them', () => {
    const g: NativeConvGeometry = { input: [1, 2, 4, 4], outChannels: 2, kernel: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 1, bias: false };
    expect(() => k.convForward(g, new Float32Array(31), new Float32Array(36), null)).toThrow(/x has 31 elements, expected 32/);
    expect(() => k.convForward({ ...g, groups: 3 }, new Float32Array(32), new Float32Array(36), null)).toThrow(/divisible by groups/);
  });
});

describe('native kernels are off', () => {
  it('only when WEIGHTSMITH_NATIVE_KERNELS=off asks to test without them', () => {
    expect(native === null).toBe(nativeKernelsOff());
  });
});
