import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { importOnnxGraph } from '../graph/onnx-import';
import { buildZooModel } from '../graph/zoo';
import type { ArchitectureGraph } from '../graph/ir';
import { randomWeights } from '../runtime/random-weights';
import { hostTensorOf, readSafetensorsFile, seededInput, useBackend } from '../runtime/testing/runtime-testing';
import type { TensorBytes } from '../runtime/host-tensor';
import { fixturesDir } from '../testing/fixtures';
import { TrainableGraph, type StateTensor } from './trainable-graph';

/**
 * Whole-graph gradients against central finite differences of the training-mode loss, for the
 * element with the largest gradient of a few parameter tensors: the ops' backwards composed
 * through a real graph (ViT's class token Gather/Expand/Concat and attention, a zoo CNN with
 * training-mode BatchNorm, depthwise convs, HardSwish and squeeze-excitation).
 */
function stateOf(graph: ArchitectureGraph, weights: ReadonlyMap<string, TensorBytes>): Map<string, StateTensor> {
  const state = new Map<string, StateTensor>();
  for (const init of graph.initializers) {
    if (init.aliasOf !== undefined) continue;
    if (init.name.endsWith('num_batches_tracked')) {
      state.set(init.name, { shape: init.shape, data: new Float32Array(1) });
      continue;
    }
    const t = hostTensorOf(weights, init.name);
    state.set(init.name, { shape: t.shape, data: Float32Array.from(Array.from(t.data as ArrayLike<number>, Number)) });
  }
  return state;
}

function checkGradients(graph: ArchitectureGraph, state: Map<string, StateTensor>, size: number, names: string[]): void {
  const net = new TrainableGraph(graph, state);
  const x = tf.tensor(seededInput([2, 3, size, size], 7).data as Float32Array, [2, 3, size, size]);
  const y = tf.tensor1d([1, 4], 'int32');
  try {
    const { grads } = net.trainStep(x, y, 0.1);
    const params = net.parameters();
    const h = 1e-2;
    const problems: string[] = [];
    for (const name of names) {
      const g = grads.get(name)!;
      const e = g.reduce((best, v, i) => (Math.abs(v) > Math.abs(g[best]) ? i : best), 0);
      const lossAt = (delta: number): number => {
        const shifted = params.get(name)!.slice();
        shifted[e] += delta;
        net.setParameters(new Map([[name, shifted]]));
        return net.trainStep(x, y, 0.1).loss;
      };
      const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
      net.setParameters(new Map([[name, params.get(name)!]]));
      if (!(Math.abs(g[e] - numeric) <= 0.03 * Math.abs(numeric))) problems.push(`${name}[${e}]: backward ${g[e]}, finite difference ${numeric}`);
    }
    expect(problems).toEqual([]);
  } finally {
    tf.dispose([x, y]);
    net.dispose();
  }
}

describe('whole-graph gradients = finite differences of the loss (wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('a 2-layer torchvision ViT imported from ONNX', async () => {
    const dir = fixturesDir('runtime');
    const graph = importOnnxGraph(readFileSync(`${dir}/vit_tiny.onnx`));
    const state = stateOf(graph, await readSafetensorsFile(`${dir}/vit_tiny.weights.safetensors`));
    const names = ['class_token', 'encoder.pos_embedding', 'conv_proj.weight', 'encoder.layers.encoder_layer_0.self_attention.in_proj_weight', 'encoder.layers.encoder_layer_1.ln_2.weight', 'heads.head.weight'];
    checkGradients(graph, state, 32, names);
  });

  // At 32 px its last stages' BatchNorms see a few values per channel and, at random
  // initialization, amplify by 1/√ε: the loss is then too curved for finite differences.
  it('mobilenet_v3_small with training-mode BatchNorm at 96 px', () => {
    const graph = buildZooModel('mobilenet_v3_small', { imageSize: 96, numClasses: 10 });
    const state = stateOf(graph, randomWeights(graph, { seed: 3 }));
    checkGradients(graph, state, 96, ['features.0.0.weight', 'features.1.block.1.fc1.weight', 'features.4.block.1.1.bias', 'classifier.0.weight']);
  });
});
