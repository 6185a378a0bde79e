import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsForTests } from '../../../test/utils/native-kernels';
import type { GraphNode } from '../graph/ir';
import { setActiveNativeKernels } from '../runtime/native';
import { seededInput, useBackend } from '../runtime/testing/runtime-testing';
import { TRAIN_OPS } from './train-ops';

const native = nativeKernelsForTests();
const TOLERANCE = 1e-5;

interface Case {
  x: number[];
  w: number[];
  bias: boolean;
  attributes: GraphNode['attributes'];
}

/** ONNX Conv nodes: asymmetric pads, strides with dilations, grouped, depthwise (multiplier 2), batch 1. */
const CASES: Case[] = [
  { x: [2, 3, 9, 8], w: [4, 3, 3, 2], bias: true, attributes: { pads: [0, 1, 2, 0], strides: [2, 1] } },
  { x: [1, 4, 11, 11], w: [6, 2, 3, 3], bias: false, attributes: { pads: [2, 2, 1, 1], strides: [2, 2], dilations: [2, 2], group: 2 } },
  { x: [3, 5, 7, 6], w: [10, 1, 3, 3], bias: true, attributes: { pads: [1, 1, 1, 1], strides: [1, 2], group: 5 } },
  { x: [1, 2, 6, 10], w: [3, 2, 1, 4], bias: true, attributes: { pads: [0, 3, 0, 0], dilations: [1, 3] } },
];

function node(c: Case): GraphNode {
  return { name: 'test/Conv', opType: 'Conv', inputs: c.bias ? ['x', 'w', 'b'] : ['x', 'w'], outputs: ['y'], attributes: c.attributes };
}

/** The Conv op's output and gradients (from a seeded output gradient), as plain arrays. */
function run(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const inputs = [c.x, c.w, ...(c.bias ? [[c.w[0]]] : [])].map((shape, i) => tf.tensor(seededInput(shape, 3 + i).data as Float32Array, shape));
    const op = TRAIN_OPS.Conv;
    const forward = op.forward(node(c), inputs, { training: true, batchNormUpdates: [] });
    const y = forward.outputs[0];
    const dy = tf.tensor(seededInput(y.shape, 9).data as Float32Array, y.shape);
    const grads = op.backward!(node(c), inputs, forward, [dy]);
    return [y, ...grads.filter((g): g is tf.Tensor => g !== undefined)].map((t) => t.dataSync() as Float32Array);
  });
}

(native ? describe : describe.skip)('the training Conv op on native kernels equals its TF.js path', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterEach(() => setActiveNativeKernels(null));

  it.each(CASES.map((c, i) => [i, c] as const))('case %i: output and the input, filter and bias gradients', (_i, c) => {
    setActiveNativeKernels(null);
    const reference = run(c);
    setActiveNativeKernels(native);
    const calls = native!.stats().calls;
    const actual = run(c);
    expect(native!.stats().calls).toBe(calls + 3);
    expect(actual.map((a) => a.length)).toEqual(reference.map((r) => r.length));
    actual.forEach((a, k) => {
      let worst = 0;
      let scale = 0;
      for (let e = 0; e < a.length; e++) {
        worst = Math.max(worst, Math.abs(a[e] - reference[k][e]));
        scale = Math.max(scale, Math.abs(reference[k][e]));
      }
      if (!(worst <= TOLERANCE * scale)) throw new Error(`output ${k}: max error ${worst} against ${scale}`);
    });
  });
});
