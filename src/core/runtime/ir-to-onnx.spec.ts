import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOnnxTensors } from '../formats/onnx/onnx-tensors';
import { readAll } from '../formats/tensor-set';
import { importOnnxGraph } from '../graph/onnx-import';
import { buildZooModel } from '../graph/zoo';
import { fixturesDir } from '../testing/fixtures';
import { encodeGraphAsOnnx, encodeConstantValues, graphToOnnxModel, graphToOnnxWithExternalData, initializerByteLength } from './ir-to-onnx';
import { randomWeights } from './random-weights';
import { onnxEmbeddedWeights, usedInitializers } from './weights';

describe('graphToOnnxModel', () => {
  it('writes an exported graph that imports back to the same nodes, with its weights embedded', async () => {
    const source = readFileSync(fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'vit_tiny.onnx'));
    const graph = importOnnxGraph(source);
    const weights = await onnxEmbeddedWeights(source);
    const bytes = encodeGraphAsOnnx(graph, weights);
    const back = importOnnxGraph(bytes);
    expect(back.nodes).toEqual(graph.nodes);
    expect(back.inputs).toEqual(graph.inputs);
    expect(back.outputs).toEqual(graph.outputs);
    expect(back.opset).toBe(17);
    const tensors = await readOnnxTensors(bytes);
    expect(tensors.tensors.map((t) => t.name)).toEqual(usedInitializers(graph).map((i) => i.name));
    const head = tensors.tensors.find((t) => t.name === 'heads.head.weight');
    expect(Buffer.from(await readAll(head!))).toEqual(Buffer.from(weights.get('heads.head.weight')!.data));
  });

  it('types float attributes by schema and writes int64 constants exactly', () => {
    const graph = buildZooModel('resnet18', { imageSize: 32, numClasses: 10 });
    const model = graphToOnnxModel(graph, randomWeights(graph));
    const gemm = model.graph!.node!.find((n) => n.opType === 'Gemm')!;
    expect(gemm.attribute!.find((a) => a.name === 'alpha')).toMatchObject({ type: 1, f: 1 });
    expect(gemm.attribute!.find((a) => a.name === 'transB')).toMatchObject({ type: 2, i: 1 });
    const conv = model.graph!.node!.find((n) => n.opType === 'Conv')!;
    expect(conv.attribute!.find((a) => a.name === 'kernel_shape')).toMatchObject({ type: 7, ints: [7, 7] });
    const bytes = encodeConstantValues('I64', [2 ** 63, -5]);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([view.getBigInt64(0, true), view.getBigInt64(8, true)]).toEqual([2n ** 63n - 1n, -5n]);
  });

  it('gives exporter aliases the data of the tensor they alias', async () => {
    const source = readFileSync(fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'efficientnet_mini.onnx'));
    const graph = importOnnxGraph(source);
    const alias = graph.initializers.find((i) => i.aliasOf !== undefined)!;
    const weights = await onnxEmbeddedWeights(source);
    expect(weights.has(alias.name)).toBe(false);
    const written = await onnxEmbeddedWeights(encodeGraphAsOnnx(graph, weights));
    expect(written.get(alias.name)!.data).toEqual(weights.get(alias.aliasOf!)!.data);
  });
});

describe('external data (models past 2 GiB)', () => {
  it('puts every initializer into one data file at aligned offsets that read back to the same bytes', async () => {
    const graph = buildZooModel('resnet18', { imageSize: 32, numClasses: 10 });
    const weights = randomWeights(graph, { seed: 3 });
    const { model, chunks } = graphToOnnxWithExternalData(graph, weights, 'weights.bin');
    expect(model.byteLength).toBeLessThan(100_000); // no weight bytes in the model itself
    expect(chunks.length).toBe(usedInitializers(graph).length);
    const dir = mkdtempSync(join(tmpdir(), 'ws-ext-'));
    try {
      writeFileSync(join(dir, 'weights.bin'), Buffer.concat(chunks.flatMap((c) => [Buffer.alloc(c.padding), Buffer.from(c.bytes)])));
      const set = await readOnnxTensors(model, { externalDataDir: dir });
      // Buffer#equals: Jest's toEqual walks 45 MB element by element.
      const differing: string[] = [];
      for (const t of set.tensors) if (!Buffer.from(await readAll(t)).equals(Buffer.from(weights.get(t.name)!.data))) differing.push(t.name);
      expect(differing).toEqual([]);
      expect(initializerByteLength(graph)).toBe(chunks.reduce((sum, c) => sum + c.bytes.byteLength, 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
