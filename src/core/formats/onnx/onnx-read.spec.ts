import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferSource } from '../../io/random-access';
import { readAll } from '../tensor-set';
import { encodeOnnxModel, readOnnxModel, type OnnxGraph, type OnnxTensorProto } from './onnx-codec';
import { listInitializers } from './onnx-initializers';
import { graphSummary } from './onnx-summary';
import { readOnnxTensors } from './onnx-tensors';

function modelBytes(initializer: OnnxTensorProto[], graph: OnnxGraph = {}): Uint8Array {
  return encodeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', initializer, ...graph },
  });
}

async function tensorBytes(bytes: Uint8Array, name: string, options = {}): Promise<Uint8Array> {
  const set = await readOnnxTensors(bytes, options);
  const tensor = set.tensors.find((t) => t.name === name);
  if (!tensor) throw new Error(`no tensor ${name}`);
  return readAll(tensor);
}

const le = (array: ArrayBufferView): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

describe('readOnnxModel', () => {
  it('rejects garbage, non-models and invalid initializers with ONNX_INVALID', () => {
    const cases: Uint8Array[] = [
      new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // length beyond the input
      new Uint8Array([0x07]), // wire type 7
      new Uint8Array(0), // decodes, but no ir_version
      encodeOnnxModel({ irVersion: 8 }), // no graph
      modelBytes([{ name: 'a', dataType: 1 }, { name: 'a', dataType: 1 }]), // duplicate names
      modelBytes([{ name: '', dataType: 1 }]),
      modelBytes([{ name: 'a', dataType: 1, dims: [-1] }]),
    ];
    for (const bytes of cases) expect(() => readOnnxModel(bytes)).toThrow(expect.objectContaining({ code: 'ONNX_INVALID' }));
  });

  it('turns nesting beyond the protobuf recursion limit into ONNX_INVALID', () => {
    // 500 nested groups of an unknown field 99 (start-group tag 0x9b 0x06, end-group tag 0x9c 0x06).
    const depth = 500;
    const bytes = new Uint8Array([...Array(depth).fill([0x9b, 0x06]).flat(), ...Array(depth).fill([0x9c, 0x06]).flat()]);
    expect(() => readOnnxModel(bytes)).toThrow(expect.objectContaining({ code: 'ONNX_INVALID', message: expect.stringContaining('depth') }));
  });

  it('keeps fields of newer schemas when the model is written back', () => {
    const bytes = modelBytes([{ name: 'w', dataType: 1, dims: [1], floatData: [1] }]);
    const withUnknown = new Uint8Array([...bytes, 0xf8, 0x06, 0x2a]); // field 111, varint 42
    expect(Buffer.from(encodeOnnxModel(readOnnxModel(withUnknown)))).toEqual(Buffer.from(withUnknown));
  });
});

describe('listInitializers', () => {
  it('maps the ONNX data types to dtypes', () => {
    const types: [number, string][] = [[1, 'F32'], [2, 'U8'], [3, 'I8'], [5, 'I16'], [6, 'I32'], [7, 'I64'], [9, 'BOOL'], [10, 'F16'], [11, 'F64'], [16, 'BF16']];
    const model = readOnnxModel(modelBytes(types.map(([dataType]) => ({ name: `t${dataType}`, dataType, dims: [2, 0] }))));
    expect(listInitializers(model).map((i) => [i.name, i.dtype, i.dims, i.byteLength, i.hasData])).toEqual(
      types.map(([n, dtype]) => [`t${n}`, dtype, [2, 0], 0, true]),
    );
  });

  it.each([[8, 'STRING'], [4, 'UINT16'], [17, 'FLOAT8E4M3FN'], [0, 'UNDEFINED']])('refuses data type %i (%s) with UNSUPPORTED_FORMAT', (dataType, name) => {
    const model = readOnnxModel(modelBytes([{ name: 'odd', dataType, dims: [1] }]));
    expect(() => listInitializers(model)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining(name) }));
    expect(() => listInitializers(model)).toThrow(/'odd'/);
  });

  it('reports external data and refuses locations outside the model folder', () => {
    const external = (location: string, extra: Record<string, string> = {}): OnnxTensorProto => ({
      name: 'w',
      dataType: 1,
      dims: [4],
      dataLocation: 1,
      externalData: [{ key: 'location', value: location }, ...Object.entries(extra).map(([key, value]) => ({ key, value }))],
    });
    const info = listInitializers(readOnnxModel(modelBytes([external('sub/w.bin', { offset: '128', length: '16', checksum: 'ab' })])))[0];
    expect(info).toEqual({ name: 'w', dtype: 'F32', dims: [4], byteLength: 16, hasData: false, external: { location: 'sub/w.bin', offset: 128, length: 16, checksum: 'ab' } });
    for (const bad of [external('../w.bin'), external('/etc/passwd'), external('a/../../w'), external('C:\\w'), external(''), external('w', { length: '15' }), external('w', { offset: '-1' })]) {
      expect(() => listInitializers(readOnnxModel(modelBytes([bad])))).toThrow(expect.objectContaining({ code: 'ONNX_INVALID' }));
    }
  });

  it('refuses embedded data whose length does not fit the dims', () => {
    for (const t of [
      { name: 'r', dataType: 1, dims: [3], rawData: new Uint8Array(8) },
      { name: 'f', dataType: 1, dims: [3], floatData: [1, 2] },
      { name: 'i', dataType: 7, dims: [1], int64Data: [1, 2] },
    ]) {
      expect(() => listInitializers(readOnnxModel(modelBytes([t])))).toThrow(expect.objectContaining({ code: 'ONNX_INVALID', details: { tensor: t.name } }));
    }
  });
});

describe('readOnnxTensors', () => {
  it('converts typed data fields to little-endian bytes', async () => {
    const bytes = modelBytes([
      { name: 'f32', dataType: 1, dims: [3], floatData: [1.5, -2, 3.25] },
      { name: 'f64', dataType: 11, dims: [2], doubleData: [Math.PI, -1e300] },
      { name: 'i64', dataType: 7, dims: [3], int64Data: [-2, 2 ** 40 + 3, 0] },
      { name: 'i32', dataType: 6, dims: [2], int32Data: [-7, 2 ** 31 - 1] },
      { name: 'i16', dataType: 5, dims: [2], int32Data: [-300, 300] },
      { name: 'i8', dataType: 3, dims: [2], int32Data: [-5, 100] },
      { name: 'u8', dataType: 2, dims: [2], int32Data: [255, 7] },
      { name: 'bool', dataType: 9, dims: [3], int32Data: [1, 0, 1] },
      { name: 'f16', dataType: 10, dims: [2], int32Data: [0x3c00, 0xc000] },
      { name: 'bf16', dataType: 16, dims: [1], int32Data: [0x3f80] },
      { name: 'raw', dataType: 1, dims: [1], rawData: le(new Float32Array([42])) },
    ]);
    expect(await tensorBytes(bytes, 'f32')).toEqual(le(new Float32Array([1.5, -2, 3.25])));
    expect(await tensorBytes(bytes, 'f64')).toEqual(le(new Float64Array([Math.PI, -1e300])));
    expect(await tensorBytes(bytes, 'i64')).toEqual(le(new BigInt64Array([-2n, 2n ** 40n + 3n, 0n])));
    expect(await tensorBytes(bytes, 'i32')).toEqual(le(new Int32Array([-7, 2 ** 31 - 1])));
    expect(await tensorBytes(bytes, 'i16')).toEqual(le(new Int16Array([-300, 300])));
    expect(await tensorBytes(bytes, 'i8')).toEqual(le(new Int8Array([-5, 100])));
    expect(await tensorBytes(bytes, 'u8')).toEqual(new Uint8Array([255, 7]));
    expect(await tensorBytes(bytes, 'bool')).toEqual(new Uint8Array([1, 0, 1]));
    expect(await tensorBytes(bytes, 'f16')).toEqual(le(new Uint16Array([0x3c00, 0xc000])));
    expect(await tensorBytes(bytes, 'bf16')).toEqual(le(new Uint16Array([0x3f80])));
    expect(await tensorBytes(bytes, 'raw')).toEqual(le(new Float32Array([42])));
  });

  it('reads from a RandomAccessSource or a decoded model, lists metadata and skips initializers without data', async () => {
    const bytes = modelBytes([
      { name: 'a', dataType: 1, dims: [1], floatData: [1] },
      { name: 'empty', dataType: 1, dims: [2] },
    ]);
    const set = await readOnnxTensors(bufferSource(bytes));
    expect(set.format).toBe('onnx');
    expect(set.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([['a', 'F32', [1]]]);
    expect(set.metadata).toEqual({
      irVersion: 8,
      producerName: '',
      producerVersion: '',
      graphName: 'g',
      opsetImports: [{ domain: '', version: 17 }],
      initializersWithoutData: ['empty'],
    });
    const fromModel = await readOnnxTensors(readOnnxModel(bytes));
    expect(fromModel.tensors.map((t) => t.name)).toEqual(['a']);
    expect(await readAll(fromModel.tensors[0])).toEqual(le(new Float32Array([1])));
    await expect(readOnnxTensors({ irVersion: 8 })).rejects.toMatchObject({ code: 'ONNX_INVALID' });
  });

  describe('external data', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'onnx-read-'));
      const data = new Uint8Array(64).map((_, i) => i);
      await writeFile(join(dir, 'data.bin'), data);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    const model = (location: string, offset?: number, dims = [4]) =>
      modelBytes([
        {
          name: 'w',
          dataType: 2,
          dims,
          dataLocation: 1,
          externalData: [{ key: 'location', value: location }, ...(offset === undefined ? [] : [{ key: 'offset', value: String(offset) }])],
        },
      ]);

    it('reads location + offset relative to externalDataDir', async () => {
      expect(await tensorBytes(model('data.bin', 10), 'w', { externalDataDir: dir })).toEqual(new Uint8Array([10, 11, 12, 13]));
      expect(await tensorBytes(model('data.bin'), 'w', { externalDataDir: dir })).toEqual(new Uint8Array([0, 1, 2, 3]));
    });

    it('fails only when the bytes are read: ONNX_EXTERNAL_DATA_MISSING, or ONNX_INVALID when too short', async () => {
      const missing = await readOnnxTensors(model('nope.bin'), { externalDataDir: dir });
      await expect(readAll(missing.tensors[0])).rejects.toMatchObject({ code: 'ONNX_EXTERNAL_DATA_MISSING', details: { tensor: 'w' } });
      const noDir = await readOnnxTensors(model('data.bin'));
      await expect(readAll(noDir.tensors[0])).rejects.toMatchObject({ code: 'ONNX_EXTERNAL_DATA_MISSING' });
      const short = await readOnnxTensors(model('data.bin', 62), { externalDataDir: dir });
      await expect(readAll(short.tensors[0])).rejects.toMatchObject({ code: 'ONNX_INVALID' });
    });

    it('takes bytes from resolveExternal, checking their length', async () => {
      const resolveExternal = (name: string) => (name === 'w' ? new Uint8Array([9, 9, 9, 9]) : undefined);
      expect(await tensorBytes(model('weights.safetensors'), 'w', { resolveExternal })).toEqual(new Uint8Array([9, 9, 9, 9]));
      const wrong = await readOnnxTensors(model('x.bin'), { resolveExternal: () => new Uint8Array(3) });
      await expect(readAll(wrong.tensors[0])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });
});

describe('graphSummary', () => {
  it('summarises inputs (initializers aside), outputs, nodes and opsets', () => {
    const tensorType = (elemType: number, dims: ({ dimValue: number } | { dimParam: string } | Record<string, never>)[]) => ({ tensorType: { elemType, shape: { dim: dims } } });
    const model = readOnnxModel(
      modelBytes([{ name: 'w', dataType: 1, dims: [1], floatData: [0] }], {
        input: [
          { name: 'x', type: tensorType(1, [{ dimParam: 'n' }, { dimValue: 3 }, {}]) },
          { name: 'w', type: tensorType(1, [{ dimValue: 1 }]) },
          { name: 'seq', type: { sequenceType: { elemType: tensorType(7, []) } } },
        ],
        output: [{ name: 'y', type: tensorType(8, [{ dimValue: 0 }]) }, { name: 'z', type: { tensorType: { elemType: 10 } } }],
        node: [{ opType: 'Relu' }, { opType: 'Relu' }, { opType: '__proto__' }, { opType: 'Foo', domain: 'com.x' }],
      }),
    );
    const summary = graphSummary(model);
    expect(summary.inputs).toEqual([
      { name: 'x', kind: 'tensor', elemType: 'FLOAT', dtype: 'F32', shape: ['n', 3, null] },
      { name: 'seq', kind: 'sequence' },
    ]);
    expect(summary.outputs).toEqual([
      { name: 'y', kind: 'tensor', elemType: 'STRING', shape: [0] },
      { name: 'z', kind: 'tensor', elemType: 'FLOAT16', dtype: 'F16' },
    ]);
    expect(summary.nodeCount).toBe(4);
    expect(summary.initializerCount).toBe(1);
    expect(Object.entries(summary.opHistogram)).toEqual([['Relu', 2], ['__proto__', 1], ['com.x:Foo', 1]]);
    expect(summary.opsetImports).toEqual([{ domain: '', version: 17 }]);
    expect(summary.irVersion).toBe(8);
  });
});
