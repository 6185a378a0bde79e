import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../../core/errors';
import { importOnnxGraph } from '../../core/graph/onnx-import';
import { maxAbsDiff } from '../../core/runtime';
import { hostTensorOf, readSafetensorsFile, useBackend } from '../../core/runtime/testing/runtime-testing';
import { fixturesDir } from '../../core/testing/fixtures';
import { TfjsWorkerEngine } from './tfjs-worker-engine';

/** The deployments' TF.js engine runs in a worker thread (built script under dist/: npm test builds first). */
describe('TfjsWorkerEngine', () => {
  const dir = fixturesDir('runtime');
  beforeAll(() => useBackend('wasm')); // this thread's backend, to count its tensors

  it('gives PyTorch logits with nothing held on this thread, and refuses to run once disposed', async () => {
    const graph = importOnnxGraph(readFileSync(`${dir}/squeezenet1_0.onnx`));
    const weights = await readSafetensorsFile(`${dir}/squeezenet1_0.weights.safetensors`);
    const io = await readSafetensorsFile(`${dir}/squeezenet1_0.io.safetensors`);
    const before = tf.memory().numTensors;
    const engine = await TfjsWorkerEngine.create(graph, weights, 'wasm');
    expect(engine.name).toBe('tfjs-wasm');
    const out = await engine.run({ [graph.inputs[0].name]: hostTensorOf(io, 'input') });
    expect(maxAbsDiff(out[graph.outputs[0].name], hostTensorOf(io, 'logits'))).toBeLessThanOrEqual(1e-3);
    expect(out[graph.outputs[0].name].data).toBeInstanceOf(Float32Array); // this realm's, not the worker's
    expect(tf.memory().numTensors).toBe(before); // weights and plans live in the worker
    engine.dispose();
    await expect(engine.run({ [graph.inputs[0].name]: hostTensorOf(io, 'input') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'the engine has been disposed' });
  }, 60_000);

  it('reports a failure in the worker as a core error', async () => {
    const graph = importOnnxGraph(readFileSync(`${dir}/vit_tiny.onnx`));
    const weights = await readSafetensorsFile(`${dir}/vit_tiny.weights.safetensors`);
    const engine = await TfjsWorkerEngine.create(graph, weights, 'wasm');
    try {
      // The input check runs in the worker; its CoreError crosses the channel whole.
      const error = await engine.run({ [graph.inputs[0].name]: { dtype: 'F32', shape: [1, 3, 7, 7], data: new Float32Array(147) } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CoreError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { input: 'input' } });
      expect((error as Error).message).toBe("input 'input' has shape [1, 3, 7, 7], the graph expects [batch, 3, 32, 32]");
    } finally {
      engine.dispose();
    }
  }, 60_000);
});
