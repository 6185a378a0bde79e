import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { importOnnxGraph } from '../graph/onnx-import';
import type { ArchitectureGraph } from '../graph/ir';
import { buildZooModel } from '../graph/zoo';
import { fixturesDir } from '../testing/fixtures';
import { createEngine } from './engine';
import type { TensorBytes } from './host-tensor';
import { randomWeights } from './random-weights';
import { seededInput, useBackend } from './testing/runtime-testing';
import { onnxEmbeddedWeights } from './weights';

/**
 * TF.js memory: every intermediate is disposed during the run, repeated runs leave the tensor
 * count unchanged, and dispose() returns it to what it was before the engine was created, also
 * after failed creations and failed runs.
 */
async function ghnRun(cfg: string, arch: string): Promise<{ graph: ArchitectureGraph; weights: Map<string, TensorBytes> }> {
  const bytes = readFileSync(fixturesDir('ghn', 'runs', cfg, `${arch}.onnx`));
  return { graph: importOnnxGraph(bytes), weights: await onnxEmbeddedWeights(bytes) };
}

async function expectNoLeak(graph: ArchitectureGraph, weights: Map<string, TensorBytes> | ReturnType<typeof randomWeights>, size: number): Promise<void> {
  const baseline = tf.memory().numTensors;
  const engine = await createEngine('tfjs', graph, weights);
  const loaded = tf.memory().numTensors;
  const input = (batch: number) => ({ [graph.inputs[0].name]: seededInput([batch, 3, size, size], 3) });
  await engine.run(input(2));
  const afterFirst = tf.memory().numTensors;
  expect(afterFirst).toBeGreaterThanOrEqual(loaded); // the plan may keep shape-derived constants
  await engine.run(input(2));
  await engine.run(input(2));
  expect(tf.memory().numTensors).toBe(afterFirst);
  await engine.run(input(1)); // a new batch size: a second plan
  await engine.run(input(1));
  const twoPlans = tf.memory().numTensors;
  await engine.run(input(2));
  expect(tf.memory().numTensors).toBe(twoPlans);
  engine.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
}

describe.each(['wasm', 'cpu'] as const)('tfjs-%s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([
    ['ghn3_h32_l3', 'convnext_mini', 32],
    ['ghn3_h32_l3', 'vit_tiny', 32],
    ['ghn3_h32_l3', 'mobilenet_v3_mini', 32],
    ['ghn3_h32_l3', 'efficientnet_mini', 32],
  ])('%s/%s leaves no tensors behind', async (cfg, arch, size) => {
    const { graph, weights } = await ghnRun(cfg, arch);
    await expectNoLeak(graph, weights, size);
  });

  it('concurrent runs give the same results as sequential ones', async () => {
    const { graph, weights } = await ghnRun('ghn3_h32_l3', 'vit_tiny');
    const baseline = tf.memory().numTensors;
    const engine = await createEngine('tfjs', graph, weights, { maxCachedPlans: 1 });
    const inputs = [2, 1, 2, 3].map((batch) => ({ input: seededInput([batch, 3, 32, 32], batch) }));
    const together = await Promise.all(inputs.map((x) => engine.run(x)));
    for (const [i, x] of inputs.entries()) expect((await engine.run(x)).logits).toEqual(together[i].logits);
    engine.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('failed creations and failed runs leave no tensors behind', async () => {
    const { graph, weights } = await ghnRun('ghn3_h32_l3', 'tiny_cnn');
    const baseline = tf.memory().numTensors;
    const partial = new Map(weights);
    partial.delete(graph.initializers[graph.initializers.length - 1].name);
    await expect(createEngine('tfjs', graph, partial)).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND' });
    expect(tf.memory().numTensors).toBe(baseline);

    // A reshape that only fits batch 2: batch 3 fails mid-run, after tensors were made.
    const reshapeAtEnd: ArchitectureGraph = {
      ...graph,
      nodes: [
        ...graph.nodes.map((n) => ({ ...n, outputs: n.outputs.map((o) => (o === 'logits' ? 'pre' : o)) })),
        { name: 'shape', opType: 'Constant', inputs: [], outputs: ['target'], attributes: { value: { dtype: 'I64', shape: [2], values: [5, 4] } } },
        { name: 'fixed', opType: 'Reshape', inputs: ['pre', 'target'], outputs: ['logits'], attributes: {} },
      ],
      outputs: [{ name: 'logits', dtype: 'F32', shape: [5, 4] }],
    };
    const engine = await createEngine('tfjs', reshapeAtEnd, weights);
    await expect(engine.run({ input: seededInput([2, 3, 32, 32], 1) })).resolves.toBeDefined();
    const afterRun = tf.memory().numTensors;
    await expect(engine.run({ input: seededInput([3, 3, 32, 32], 1) })).rejects.toMatchObject({ code: 'GRAPH_INVALID' });
    expect(tf.memory().numTensors).toBe(afterRun);
    await expect(engine.run({ input: seededInput([3, 3, 32, 32], 1) })).rejects.toMatchObject({ code: 'GRAPH_INVALID' });
    engine.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    await expect(engine.run({ input: seededInput([2, 3, 32, 32], 1) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('tfjs-wasm with zoo graphs', () => {
  beforeAll(() => useBackend('wasm'));
  it('a zoo graph with shape arithmetic and channel shuffles leaves no tensors behind', async () => {
    for (const [name, size] of [['shufflenet_v2_x0_5', 64], ['densenet121', 32]] as const) {
      const graph = buildZooModel(name, { imageSize: size, numClasses: 10 });
      await expectNoLeak(graph, randomWeights(graph), size);
    }
  });
});
