import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll, type LazyTensor } from '../tensor-set';
import { encodeOnnxModel, readOnnxModel, type OnnxModel } from './onnx-codec';
import { writeOnnxModelWithExternalData } from './onnx-external-writer';
import { listInitializers } from './onnx-initializers';
import { readOnnxTensors } from './onnx-tensors';
import { writeOnnxModel, type OnnxInitializerData } from './onnx-writer';

const le = (array: ArrayBufferView): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/** Two initializers: 'w' held in float_data, 'b' external in a file that does not exist. */
function sourceModel(): OnnxModel {
  return readOnnxModel(
    encodeOnnxModel({
      irVersion: 8,
      producerName: 'test',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [{ opType: 'Gemm', input: ['x', 'w', 'b'], output: ['y'] }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }, { dimValue: 3 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
        initializer: [
          { name: 'w', dataType: 1, dims: [2, 3], floatData: [0, 0, 0, 0, 0, 0], docString: 'weight' },
          {
            name: 'b',
            dataType: 1,
            dims: [2],
            dataLocation: 1,
            externalData: [{ key: 'location', value: 'gone.bin' }],
          },
        ],
      },
    }),
  );
}

const weights = (): Map<string, OnnxInitializerData> =>
  new Map([
    ['w', { dtype: 'F32', shape: [2, 3], data: le(new Float32Array([1, 2, 3, 4, 5, 6])) }],
    ['b', { dtype: 'F32', shape: [2], data: le(new Float32Array([-1, -2])) }],
  ]);

async function tensorsOf(bytes: Uint8Array, externalDataDir?: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const t of (await readOnnxTensors(bytes, { externalDataDir })).tensors) {
    const b = await readAll(t);
    out[t.name] = [...new Float32Array(b.slice().buffer)];
  }
  return out;
}

describe('writeOnnxModel', () => {
  it('embeds the given data as raw_data, clearing typed and external fields, and keeps the graph', async () => {
    const model = sourceModel();
    const written = writeOnnxModel(model, weights());
    const back = readOnnxModel(written);
    expect(await tensorsOf(written)).toEqual({ w: [1, 2, 3, 4, 5, 6], b: [-1, -2] });
    for (const t of back.graph!.initializer!) {
      expect([t.floatData, t.externalData, t.dataLocation]).toEqual([[], [], 0]);
    }
    expect(back.graph!.initializer![0].docString).toBe('weight');
    expect(encodeOnnxModel({ ...back, graph: { ...back.graph, initializer: [] } })).toEqual(
      encodeOnnxModel({ ...model, graph: { ...model.graph, initializer: [] } }),
    );
    // The source model is left as it was.
    expect(listInitializers(model).map((i) => [i.hasData, i.external?.location])).toEqual([[true, undefined], [false, 'gone.bin']]);
  });

  it('accepts a lookup function', async () => {
    const map = weights();
    expect(await tensorsOf(writeOnnxModel(sourceModel(), (name) => map.get(name)))).toEqual({ w: [1, 2, 3, 4, 5, 6], b: [-1, -2] });
  });

  it('checks dtype, shape and byte length, naming the tensor', () => {
    const bad: [string, OnnxInitializerData][] = [
      ['w', { dtype: 'F64', shape: [2, 3], data: new Uint8Array(48) }],
      ['w', { dtype: 'F32', shape: [3, 2], data: new Uint8Array(24) }],
      ['w', { dtype: 'F32', shape: [2, 3, 1], data: new Uint8Array(24) }],
      ['w', { dtype: 'F32', shape: [2, 3], data: new Uint8Array(20) }],
    ];
    for (const [name, entry] of bad) {
      const map = weights().set(name, entry);
      expect(() => writeOnnxModel(sourceModel(), map)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { tensor: 'w' }, message: expect.stringContaining("'w'") }),
      );
    }
  });

  it('fails on missing initializers unless keepMissing', async () => {
    const partial = new Map([['w', weights().get('w')!]]);
    expect(() => writeOnnxModel(sourceModel(), partial)).toThrow(expect.objectContaining({ code: 'TENSOR_NOT_FOUND', details: { tensor: 'b' } }));
    const kept = readOnnxModel(writeOnnxModel(sourceModel(), partial, { keepMissing: true }));
    expect(listInitializers(kept).map((i) => [i.name, i.hasData, i.external?.location])).toEqual([['w', true, undefined], ['b', false, 'gone.bin']]);
  });
});

describe('writeOnnxModelWithExternalData', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-write-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** The 2x3 'w' as a lazy tensor whose bytes come in two chunks, split at `split`, plus `extra`. */
  function lazyW(split: number, extra = new Uint8Array(0)): LazyTensor {
    const bytes = new Uint8Array([...le(new Float32Array([1, 2, 3, 4, 5, 6])), ...extra]);
    return {
      name: 'w',
      dtype: 'F32',
      shape: [2, 3],
      async *chunks() {
        yield bytes.subarray(0, split);
        yield bytes.subarray(split);
      },
    };
  }

  it('writes large tensors to the data file (aligned) and small ones inline; reads back the same', async () => {
    const sources = new Map<string, OnnxInitializerData | LazyTensor>([
      ['w', lazyW(5)],
      ['b', weights().get('b')!],
    ]);
    const result = await writeOnnxModelWithExternalData(sourceModel(), sources, dir, 'model.onnx', 'model.data', { sizeThreshold: 16, alignment: 64 });
    expect(result).toEqual({ modelPath: join(dir, 'model.onnx'), dataPath: join(dir, 'model.data'), externalTensors: 1, dataBytes: 24 });
    const bytes = await readFile(result.modelPath);
    expect(listInitializers(readOnnxModel(bytes)).map((i) => [i.name, i.hasData, i.external])).toEqual([
      ['w', false, { location: 'model.data', offset: 0, length: 24 }],
      ['b', true, undefined],
    ]);
    expect(await tensorsOf(bytes, dir)).toEqual({ w: [1, 2, 3, 4, 5, 6], b: [-1, -2] });

    const all = await writeOnnxModelWithExternalData(sourceModel(), sources, dir, 'all.onnx', 'sub/all.data', { sizeThreshold: 0 });
    const allBytes = await readFile(all.modelPath);
    expect(listInitializers(readOnnxModel(allBytes)).map((i) => i.external)).toEqual([
      { location: 'sub/all.data', offset: 0, length: 24 },
      { location: 'sub/all.data', offset: 64, length: 8 },
    ]);
    expect((await stat(all.dataPath)).size).toBe(72);
    expect(await tensorsOf(allBytes, dir)).toEqual({ w: [1, 2, 3, 4, 5, 6], b: [-1, -2] });
  });

  it('refuses a lazy tensor with extra bytes and unsafe file names, leaving no files', async () => {
    const sources = new Map<string, OnnxInitializerData | LazyTensor>([
      ['w', lazyW(8, new Uint8Array(4))],
      ['b', weights().get('b')!],
    ]);
    await expect(writeOnnxModelWithExternalData(sourceModel(), sources, dir, 'm.onnx', 'm.data', { sizeThreshold: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { tensor: 'w' },
    });
    await expect(stat(join(dir, 'm.data'))).rejects.toThrow();
    await expect(stat(join(dir, 'm.onnx'))).rejects.toThrow();
    await expect(writeOnnxModelWithExternalData(sourceModel(), weights(), dir, 'm.onnx', '../m.data')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeOnnxModelWithExternalData(sourceModel(), weights(), dir, 'a/m.onnx', 'm.data')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
