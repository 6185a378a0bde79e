import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { readAll } from '../formats/tensor-set';
import type { Ghn } from '../ghn/ghn';
import { assertRelativeWithin, fixtureGraph, loadFixtureGhn, readSafetensorsAsTf } from '../ghn/testing-ghn-fixtures';
import { buildGhnGraph } from '../graph/ghn/build-ghn-graph';
import { importOnnxGraph } from '../graph/onnx-import';
import { fixturesDir } from '../testing/fixtures';
import { initializationMetadata, predictInitialization } from './ghn-initialization';

const TOLERANCE = 1e-5;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

let ghn: Ghn;
beforeAll(async () => {
  ghn = await loadFixtureGhn('ghn3_h32_l3');
});
afterAll(() => ghn.dispose());

const runFile = (arch: string, ext: string) => fixturesDir('ghn', 'runs', 'ghn3_h32_l3', `${arch}.${ext}`);

function valuesOf(dtype: string, bytes: Uint8Array): number[] {
  const copy = bytes.slice().buffer;
  if (dtype === 'F32') return Array.from(new Float32Array(copy));
  if (dtype === 'I64') return Array.from(new BigInt64Array(copy), Number);
  throw new Error(`unexpected dtype ${dtype}`);
}

describe('predictInitialization', () => {
  it.each(['tiny_cnn', 'convnext_mini'])('%s: every state_dict entry, predicted ones equal the official run', async (arch) => {
    const graph = importOnnxGraph(readFileSync(runFile(arch, 'onnx')), { name: arch });
    // Nothing outlives the call but the decoder column subsets the GHN keeps (ghn-weights `derived`).
    const held = (): number => tf.memory().numTensors - ghn.derivedTensorCount;
    const before = held();
    const init = await predictInitialization(ghn, buildGhnGraph(graph, { builder: 'ghn3' }), graph, { seed: 0 });
    expect(held()).toBe(before);
    expect(init.predictedOnly).toBe(false);
    expect(init.tensors.map((t) => t.name)).toEqual(graph.initializers.map((i) => i.name));
    const expected = await readSafetensorsAsTf(runFile(arch, 'safetensors'));
    try {
      for (const t of init.tensors) {
        const want = expected.get(t.name);
        if (!want) throw new Error(`the fixture run has no ${t.name}`);
        expect([t.name, t.shape]).toEqual([t.name, want.shape]);
        const got = valuesOf(t.dtype, await readAll(t));
        assertRelativeWithin(t.name, got, want.dataSync(), TOLERANCE);
      }
    } finally {
      tf.dispose([...expected.values()]);
    }
    if (arch === 'convnext_mini') expect(init.notPredicted).toEqual(['features.1.0.layer_scale', 'features.3.0.layer_scale']);
    if (arch === 'tiny_cnn') expect(init.buffers).toEqual(['bn1.running_mean', 'bn1.running_var', 'bn2.running_mean', 'bn2.running_var']);
  });

  it('holds only the predicted parameters for an architecture known by its GHN graph', async () => {
    const init = await predictInitialization(ghn, fixtureGraph('ghn3', 'tiny_cnn'), null, { seed: 0 });
    expect(init.predictedOnly).toBe(true);
    expect(init.buffers).toEqual([]);
    expect(init.tensors.map((t) => t.name).sort()).toEqual([...init.predicted].sort());
    expect(init.predicted).toContain('conv1.weight');
    expect(init.predicted).not.toContain('bn1.running_mean');
  });

  it('leaves no tf tensor behind over repeated predictions', async () => {
    const graph = importOnnxGraph(readFileSync(runFile('tiny_cnn', 'onnx')), { name: 'tiny_cnn' });
    const ghnGraph = buildGhnGraph(graph, { builder: 'ghn3' });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      const init = await predictInitialization(ghn, ghnGraph, graph, { seed: i });
      for (const t of init.tensors) await readAll(t);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an unknown BatchNorm policy and a bad seed', async () => {
    const ghnGraph = fixtureGraph('ghn3', 'tiny_cnn');
    await expect(predictInitialization(ghn, ghnGraph, null, { seed: 0, batchNorm: 'recalibrated' as 'fresh' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(predictInitialization(ghn, ghnGraph, null, { seed: -3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('describes itself in string metadata, the same for the CLI and the server', () => {
    expect(initializationMetadata({ method: 'ghn', seed: 3, batchNorm: 'fresh', ghnSha256: 'ab', notPredicted: ['x'], predictedOnly: false })).toEqual({
      format: 'pt',
      producer: 'weightsmith',
      kind: 'initialization',
      method: 'ghn',
      seed: '3',
      batch_norm: 'fresh',
      batch_norm_statistics: 'running_mean=0 running_var=1 num_batches_tracked=0 (not predicted)',
      ghn_sha256: 'ab',
      not_predicted: '["x"]',
      predicted_only: 'false',
    });
  });
});
