import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOnnxGraph } from '../graph/onnx-import';
import type { ArchitectureGraph } from '../graph/ir';
import { fixturesDir } from '../testing/fixtures';
import { createEngine } from './engine';
import type { EngineKind } from './engine-types';
import { maxAbsDiff, type HostTensor, type TensorBytes } from './host-tensor';
import { batchItem, hostTensorOf, readSafetensorsFile, useBackend } from './testing/runtime-testing';

/**
 * fixtures/runtime: graph-only ONNX exports whose initializers are bound by name from the weights
 * file, run on the stored input, must give PyTorch's logits within 1e-3 (absolute).
 * The pure-JS cpu backend runs convolutions at ~0.5 GFLOP/s: ResNet-18 took 12 s for the batch of 2
 * under ts-node and 27 s for one sample under Jest on the shared 2-core machine, so it runs on wasm
 * and onnxruntime only; SqueezeNet runs its first sample there (checked against logits row 0).
 */
const MODELS = ['resnet18', 'squeezenet1_0', 'vit_tiny'] as const;
type Model = (typeof MODELS)[number];

interface Fixture {
  graph: ArchitectureGraph;
  weights: Map<string, TensorBytes>;
  input: HostTensor;
  logits: HostTensor;
}

const fixtures = new Map<Model, Fixture>();

async function fixture(model: Model): Promise<Fixture> {
  let f = fixtures.get(model);
  if (!f) {
    const dir = fixturesDir('runtime');
    const io = await readSafetensorsFile(`${dir}/${model}.io.safetensors`);
    f = {
      graph: importOnnxGraph(readFileSync(`${dir}/${model}.onnx`)),
      weights: await readSafetensorsFile(`${dir}/${model}.weights.safetensors`),
      input: hostTensorOf(io, 'input'),
      logits: hostTensorOf(io, 'logits'),
    };
    fixtures.set(model, f);
  }
  return f;
}

async function expectLogits(kind: EngineKind, model: Model, firstSampleOnly = false): Promise<void> {
  const f = await fixture(model);
  const engine = await createEngine(kind, f.graph, f.weights, { intraOpNumThreads: 1 });
  try {
    const input = firstSampleOnly ? batchItem(f.input, 0) : f.input;
    const expected = firstSampleOnly ? batchItem(f.logits, 0) : f.logits;
    const out = await engine.run({ [f.graph.inputs[0].name]: input });
    const logits = out[f.graph.outputs[0].name];
    expect(logits.shape).toEqual(expected.shape);
    expect(maxAbsDiff(logits, expected)).toBeLessThanOrEqual(1e-3);
  } finally {
    engine.dispose();
  }
}

describe('runtime fixtures on tfjs-wasm', () => {
  beforeAll(() => useBackend('wasm'));
  it.each(MODELS)('%s matches PyTorch', (model) => expectLogits('tfjs', model), 60_000);
});

describe('runtime fixtures on tfjs-cpu', () => {
  beforeAll(() => useBackend('cpu'));
  it('vit_tiny matches PyTorch', () => expectLogits('tfjs', 'vit_tiny'), 60_000);
  it('squeezenet1_0 matches PyTorch on its first sample', () => expectLogits('tfjs', 'squeezenet1_0', true), 60_000);
});

describe('runtime fixtures on onnxruntime', () => {
  it.each(MODELS)('%s matches PyTorch', (model) => expectLogits('onnxruntime', model), 60_000);

  it('loads weights from an external data file (the path of models past 2 GiB) and removes it', async () => {
    const f = await fixture('squeezenet1_0');
    const tempDir = mkdtempSync(join(tmpdir(), 'ws-ort-'));
    try {
      const engine = await createEngine('onnxruntime', f.graph, f.weights, { intraOpNumThreads: 1, maxEmbeddedBytes: 0, tempDir });
      expect(readdirSync(tempDir)).toEqual([]); // the session holds the weights; the files are gone
      try {
        const out = await engine.run({ [f.graph.inputs[0].name]: f.input });
        expect(maxAbsDiff(out[f.graph.outputs[0].name], f.logits)).toBeLessThanOrEqual(1e-3);
      } finally {
        engine.dispose();
      }
    } finally {
      rmSync(tempDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('weight binding', () => {
  beforeAll(() => useBackend('wasm'));
  it('names the missing tensor', async () => {
    const f = await fixture('vit_tiny');
    const partial = new Map(f.weights);
    partial.delete('heads.head.weight');
    await expect(createEngine('tfjs', f.graph, partial)).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND', details: { tensor: 'heads.head.weight' } });
    await expect(createEngine('onnxruntime', f.graph, partial)).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND' });
  });

  it('rejects a weight of the wrong shape', async () => {
    const f = await fixture('vit_tiny');
    const bad = new Map(f.weights);
    const w = f.weights.get('heads.head.bias') as TensorBytes;
    bad.set('heads.head.bias', { ...w, shape: [w.data.byteLength / 8, 2] });
    await expect(createEngine('tfjs', f.graph, bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses graphs with ops it cannot run, naming them', async () => {
    const f = await fixture('vit_tiny');
    const graph = { ...f.graph, nodes: [...f.graph.nodes, { name: 'nms', opType: 'NonMaxSuppression', inputs: ['logits'], outputs: ['boxes'], attributes: {} }] };
    await expect(createEngine('tfjs', graph, f.weights)).rejects.toMatchObject({ code: 'GRAPH_UNKNOWN_OP', details: { ops: ['NonMaxSuppression'] } });
  });

  it('rejects inputs of the wrong shape or name', async () => {
    const f = await fixture('vit_tiny');
    const engine = await createEngine('onnxruntime', f.graph, f.weights);
    try {
      await expect(engine.run({ input: { dtype: 'F32', shape: [1, 3, 16, 16], data: new Float32Array(768) } })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(engine.run({ image: f.input })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      engine.dispose();
    }
  });
});
