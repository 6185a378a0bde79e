import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../testing/fixtures';
import { DTYPE_SIZES, isDtype, numElements, type Dtype } from '../../tensor/dtypes';
import { readAll } from '../tensor-set';
import { encodeOnnxModel, readOnnxModel, type OnnxModel } from './onnx-codec';
import { listInitializers } from './onnx-initializers';
import { graphSummary } from './onnx-summary';
import { readOnnxTensors } from './onnx-tensors';
import { writeOnnxModel, type OnnxInitializerData } from './onnx-writer';

/** Minimal safetensors reading for these checks (the real reader lives in ../safetensors). */
interface SafetensorsEntry {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}
function readSafetensors(path: string): Map<string, SafetensorsEntry> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isDtype(e.dtype)) throw new Error(`unexpected dtype ${e.dtype} of ${name}`);
    entries.set(name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(base + e.data_offsets[0], base + e.data_offsets[1]) });
  }
  return entries;
}

const TORCH_DTYPES: Record<string, Dtype> = { float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64' };

function onnxFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .sort()
    .map((f) => join(dir, f));
}

/** The model without initializers, encoded: equal bytes mean equal graphs (nodes, inputs, outputs, ...). */
function graphWithoutInitializers(model: OnnxModel): Uint8Array {
  return encodeOnnxModel({ ...model, graph: { ...model.graph, initializer: [] } });
}

describe('ONNX fixtures: arch/onnx (torchvision graphs)', () => {
  const zoo = JSON.parse(readFileSync(fixturesDir('arch', 'torchvision_models.json'), 'utf8')) as {
    models: Record<string, { state_dict: [string, number[], string, boolean][]; onnx: { file: string; nodes: number; op_types: string[] } }>;
  };
  const files = onnxFiles(fixturesDir('arch', 'onnx'));

  it('has one ONNX file per zoo model', () => {
    expect(files.map((f) => f.split('/').pop())).toEqual(Object.keys(zoo.models).map((m) => `${m}.onnx`).sort());
  });

  it.each(Object.keys(zoo.models))('%s: initializers equal the state_dict (names, dims, dtypes); graph as recorded', (name) => {
    const entry = zoo.models[name];
    const model = readOnnxModel(readFileSync(fixturesDir('arch', entry.onnx.file)));
    const expected = entry.state_dict
      .filter(([key]) => !key.endsWith('num_batches_tracked'))
      .map(([key, shape, dtype]) => ({ name: key, dims: shape, dtype: TORCH_DTYPES[dtype] }));
    const inits = listInitializers(model);
    expect(inits.map(({ name: n, dims, dtype }) => ({ name: n, dims, dtype }))).toEqual(expected);
    // Data is shipped only for tensors of at most 16 elements; the rest point to a file not shipped.
    for (const init of inits) {
      expect(init.hasData).toBe(numElements(init.dims) <= 16);
      if (!init.hasData) expect(init.external?.location).toBe('weights-not-included.bin');
    }
    const summary = graphSummary(model);
    expect(summary.nodeCount).toBe(entry.onnx.nodes);
    expect(Object.keys(summary.opHistogram)).toEqual([...entry.onnx.op_types].sort());
    expect(summary.opsetImports).toEqual([{ domain: '', version: 17 }]);
  });

  it('reads embedded tensors and fails lazily, with ONNX_EXTERNAL_DATA_MISSING, on the missing data file', async () => {
    const bytes = readFileSync(fixturesDir('arch', 'onnx', 'resnet18.onnx'));
    const set = await readOnnxTensors(bytes, { externalDataDir: fixturesDir('arch', 'onnx') });
    expect(set.format).toBe('onnx');
    expect(set.tensors).toHaveLength(102);
    const external = set.tensors.find((t) => t.name === 'conv1.weight')!;
    await expect(readAll(external)).rejects.toMatchObject({ code: 'ONNX_EXTERNAL_DATA_MISSING' });
  });
});

describe('ONNX fixtures: runtime models', () => {
  const names = ['resnet18', 'squeezenet1_0', 'vit_tiny'];

  it('holds exactly the expected models', () => {
    expect(onnxFiles(fixturesDir('runtime')).map((f) => f.split('/').pop())).toEqual(names.map((n) => `${n}.onnx`));
  });

  it.each(names)('%s: initializers equal the weights safetensors entries (num_batches_tracked aside)', (name) => {
    const model = readOnnxModel(readFileSync(fixturesDir('runtime', `${name}.onnx`)));
    const weights = readSafetensors(fixturesDir('runtime', `${name}.weights.safetensors`));
    const inits = listInitializers(model);
    const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : 1);
    expect(inits.map((i) => ({ name: i.name, dims: i.dims, dtype: i.dtype })).sort(byName)).toEqual(
      [...weights]
        .filter(([key]) => !key.endsWith('num_batches_tracked'))
        .map(([key, e]) => ({ name: key, dims: e.shape, dtype: e.dtype }))
        .sort(byName),
    );
    // Most initializers point to the weights file by name; a few small ones are embedded.
    const external = inits.filter((i) => i.external);
    expect(external.length).toBeGreaterThan(inits.length - 3);
    for (const init of external) {
      expect(init.hasData).toBe(false);
      expect(init.external).toEqual({ location: `${name}.weights.safetensors` });
    }
    expect(inits.filter((i) => !i.external).every((i) => i.hasData)).toBe(true);
    const summary = graphSummary(model);
    expect(summary.inputs).toEqual([{ name: 'input', kind: 'tensor', elemType: 'FLOAT', dtype: 'F32', shape: ['batch', 3, expect.any(Number), expect.any(Number)] }]);
    expect(summary.outputs[0]).toMatchObject({ name: 'logits', dtype: 'F32', shape: ['batch', expect.any(Number)] });
  });

  it('resnet18: external tensors come from resolveExternal, and fail clearly without it', async () => {
    const bytes = readFileSync(fixturesDir('runtime', 'resnet18.onnx'));
    const weights = readSafetensors(fixturesDir('runtime', 'resnet18.weights.safetensors'));
    const resolved = await readOnnxTensors(bytes, { resolveExternal: (name) => weights.get(name)?.data });
    for (const tensor of resolved.tensors) {
      expect(Buffer.compare(await readAll(tensor), weights.get(tensor.name)!.data)).toBe(0);
    }
    const unresolved = await readOnnxTensors(bytes, { externalDataDir: fixturesDir('runtime') });
    await expect(readAll(unresolved.tensors[0])).rejects.toMatchObject({ code: 'ONNX_EXTERNAL_DATA_MISSING' });
  });

  it('resnet18: write with the safetensors weights, read back: same graph, bit-identical initializers', async () => {
    const model = readOnnxModel(readFileSync(fixturesDir('runtime', 'resnet18.onnx')));
    const weights: Map<string, OnnxInitializerData> = readSafetensors(fixturesDir('runtime', 'resnet18.weights.safetensors'));
    const written = writeOnnxModel(model, weights); // the extra num_batches_tracked entries are ignored
    expect(written.byteLength).toBeGreaterThan(46_000_000);
    const back = readOnnxModel(written);
    expect(Buffer.compare(graphWithoutInitializers(back), graphWithoutInitializers(model))).toBe(0);
    expect(back.graph!.node).toEqual(model.graph!.node);
    expect(back.graph!.input).toEqual(model.graph!.input);
    expect(back.graph!.output).toEqual(model.graph!.output);
    const inits = listInitializers(back);
    expect(inits.map((i) => i.name)).toEqual(listInitializers(model).map((i) => i.name));
    expect(inits.every((i) => i.hasData && i.external === undefined)).toBe(true);
    const set = await readOnnxTensors(written);
    expect(set.tensors).toHaveLength(102);
    for (const tensor of set.tensors) {
      const expected = weights.get(tensor.name)!;
      expect([tensor.dtype, tensor.shape]).toEqual([expected.dtype, expected.shape]);
      expect(Buffer.compare(await readAll(tensor), expected.data)).toBe(0);
    }
  });
});

describe('ONNX fixtures: ghn/runs models (embedded predicted parameters)', () => {
  const runsDir = fixturesDir('ghn', 'runs');
  const files = readdirSync(runsDir)
    .sort()
    .flatMap((cfg) => onnxFiles(join(runsDir, cfg)));

  it('finds the run models', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(files.map((f) => [f.slice(runsDir.length + 1), f]))('%s parses; embedded data is readable and equals the run', async (_, file) => {
    const set = await readOnnxTensors(readFileSync(file));
    const run = readSafetensors(file.replace(/\.onnx$/, '.safetensors'));
    expect(set.tensors.length).toBeGreaterThan(0);
    expect(set.metadata.initializersWithoutData).toEqual([]);
    for (const tensor of set.tensors) {
      const bytes = await readAll(tensor);
      expect(bytes.byteLength).toBe(numElements(tensor.shape) * DTYPE_SIZES[tensor.dtype]);
      // Predicted weights and biases are embedded unchanged (BatchNorm statistics are defaults instead).
      const predicted = run.get(tensor.name);
      if (predicted && !/running_(mean|var)$/.test(tensor.name)) {
        expect(Buffer.compare(bytes, predicted.data)).toBe(0);
      }
    }
  });
});
