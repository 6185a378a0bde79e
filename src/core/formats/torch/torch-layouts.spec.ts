import fc from 'fast-check';
import { CoreError } from '../../errors';
import { bufferSource } from '../../io/random-access';
import { DTYPE_SIZES, type Dtype } from '../../tensor/dtypes';
import { readAll, type TensorSet } from '../tensor-set';
import { readTorchCheckpoint } from './read-torch-checkpoint';
import {
  STORAGE_TYPES,
  legacyStorageBytes,
  loadFromBytesValue,
  storageId,
  tensorValue,
  writeJoblib,
  writeTorchLegacy,
  writeTorchZip,
  type StorageSpec,
} from './testing/checkpoint-writers';
import { call, dict, global, orderedDict, persistent, pyFloat, tuple, type PickleValue } from './testing/pickle-writer';

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function contents(set: TensorSet): Promise<Record<string, { dtype: Dtype; shape: readonly number[]; bytes: number[] }>> {
  const out: Record<string, { dtype: Dtype; shape: readonly number[]; bytes: number[] }> = {};
  for (const t of set.tensors) out[t.name] = { dtype: t.dtype, shape: t.shape, bytes: [...(await readAll(t))] };
  return out;
}
const read = (bytes: Uint8Array) => readTorchCheckpoint(bufferSource(bytes));
const f32Bytes = (values: number[]) => [...f32(values)];

type Layout = 'zip' | 'legacy' | 'joblib';

/** Writes `root` (built by `make` from storage references) in one of the three layouts. */
function writeCheckpoint(layout: Layout, specs: StorageSpec[], data: Record<string, Uint8Array>, make: (ref: (key: string) => PickleValue) => PickleValue): Uint8Array {
  const size = (type: string) => DTYPE_SIZES[(Object.entries(STORAGE_TYPES).find(([, t]) => t === type)![0]) as Dtype];
  const refs = new Map<string, PickleValue>();
  const ref = (key: string): PickleValue => {
    if (!refs.has(key)) {
      const spec = specs.find((s) => s.key === key)!;
      refs.set(key, layout === 'joblib'
        ? loadFromBytesValue(legacyStorageBytes(spec.type, key, data[key], size(spec.type)))
        : persistent(storageId(spec, layout)));
    }
    return refs.get(key)!;
  };
  const root = make(ref);
  if (layout === 'zip') return writeTorchZip(root, data);
  if (layout === 'joblib') return writeJoblib(root);
  return writeTorchLegacy(root, specs.map((s) => ({ key: s.key, elementSize: size(s.type), bytes: data[s.key] })));
}

describe.each<Layout>(['zip', 'legacy', 'joblib'])('hand-built %s checkpoints', (layout) => {
  const expectedFormat = { zip: 'torch-zip', legacy: 'torch-legacy', joblib: 'joblib' }[layout];

  it('read every dtype, contiguous and transposed', async () => {
    for (const [dtype, type] of Object.entries(STORAGE_TYPES) as [Dtype, string][]) {
      const size = DTYPE_SIZES[dtype];
      const bytes = Uint8Array.from(range(6 * size), (i) => (dtype === 'BOOL' ? i % 2 : (i * 37 + 11) & 0xff));
      const spec = { key: 's', type, numel: 6 };
      const file = writeCheckpoint(layout, [spec], { s: bytes }, (ref) =>
        dict({ plain: tensorValue(ref('s'), 0, [2, 3], [3, 1]), transposed: tensorValue(ref('s'), 0, [3, 2], [1, 3]) }),
      );
      const set = await read(file);
      expect(set.format).toBe(expectedFormat);
      const got = await contents(set);
      expect(got.plain).toEqual({ dtype, shape: [2, 3], bytes: [...bytes] });
      const element = (i: number) => [...bytes.subarray(i * size, (i + 1) * size)];
      expect(got.transposed).toEqual({ dtype, shape: [3, 2], bytes: [0, 3, 1, 4, 2, 5].flatMap(element) });
    }
  });

  it('share storages between tensors and honour storage offsets and strides', async () => {
    const values = range(24).map((i) => i + 0.5);
    const file = writeCheckpoint(layout, [{ key: '0', type: 'FloatStorage', numel: 24 }], { '0': f32(values) }, (ref) =>
      dict({
        'layer.weight': tensorValue(ref('0'), 0, [2, 3], [3, 1]),
        'layer.bias': tensorValue(ref('0'), 6, [2], [1]),
        permuted: tensorValue(ref('0'), 8, [2, 2, 2], [1, 4, 2]),
        stepped: tensorValue(ref('0'), 1, [2, 3], [12, 2]),
        scalar: tensorValue(ref('0'), 23, [], []),
        empty: tensorValue(ref('0'), 0, [0, 4], [4, 1]),
      }),
    );
    const got = await contents(await read(file));
    expect(got['layer.weight']).toEqual({ dtype: 'F32', shape: [2, 3], bytes: f32Bytes(values.slice(0, 6)) });
    expect(got['layer.bias'].bytes).toEqual(f32Bytes(values.slice(6, 8)));
    expect(got.permuted.bytes).toEqual(f32Bytes([8, 10, 12, 14, 9, 11, 13, 15].map((i) => values[i])));
    expect(got.stepped.bytes).toEqual(f32Bytes([1, 3, 5, 13, 15, 17].map((i) => values[i])));
    expect(got.scalar).toEqual({ dtype: 'F32', shape: [], bytes: f32Bytes([values[23]]) });
    expect(got.empty).toEqual({ dtype: 'F32', shape: [0, 4], bytes: [] });
  });

  it('flatten nested dicts and OrderedDicts, wrap parameters, and report the rest as metadata', async () => {
    const file = writeCheckpoint(layout, [{ key: '0', type: 'FloatStorage', numel: 4 }], { '0': f32([1, 2, 3, 4]) }, (ref) => {
      const parameter = call(global('torch._utils', '_rebuild_parameter'), tensorValue(ref('0'), 0, [2], [1]), true, orderedDict({}));
      const stateDict = orderedDict(
        { encoder: dict({ block: orderedDict({ weight: parameter }) }), 'head.bias': tensorValue(ref('0'), 2, [2], [1]), steps: 7 },
        dict({ _metadata: orderedDict({ '': dict({ version: 1 }) }) }),
      );
      return dict({ state_dict: stateDict, epoch: 3, config: dict({ lr: pyFloat(0.25), dims: [1, 2], dtype: global('torch', 'bfloat16') }) });
    });
    const set = await read(file);
    const got = await contents(set);
    expect(Object.keys(got)).toEqual(['encoder.block.weight', 'head.bias']);
    expect(got['encoder.block.weight'].bytes).toEqual(f32Bytes([1, 2]));
    expect(got['head.bias'].bytes).toEqual(f32Bytes([3, 4]));
    expect(set.metadata).toEqual({ steps: 7, epoch: 3, config: { lr: 0.25, dims: [1, 2], dtype: 'torch.bfloat16' } });
  });
});

describe('strided views', () => {
  it('materialise C-contiguous for random shapes, strides and offsets', async () => {
    const view = fc.record({
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
      strides: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 4, maxLength: 4 }),
      offset: fc.integer({ min: 0, max: 5 }),
      slack: fc.integer({ min: 0, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(view, async ({ shape, strides, offset, slack }) => {
        const stride = strides.slice(0, shape.length);
        const numel = shape.reduce((a, b) => a * b, 1);
        const last = offset + shape.reduce((sum, size, d) => sum + Math.max(size - 1, 0) * stride[d], 0);
        const storageNumel = last + 1 + slack;
        // Reference: visit indices in C order.
        const expected: number[] = [];
        const visit = (d: number, at: number) => {
          if (d === shape.length) return void expected.push(at);
          for (let i = 0; i < shape[d]; i++) visit(d + 1, at + i * stride[d]);
        };
        if (numel > 0) visit(0, offset);
        const values = range(storageNumel).map((i) => i * 3 + 1);
        const storage = persistent(storageId({ key: '0', type: 'IntStorage', numel: storageNumel }, 'zip'));
        const file = writeTorchZip(dict({ t: tensorValue(storage, offset, shape, stride) }), { '0': new Uint8Array(Int32Array.from(values).buffer) });
        const result = await read(file).then(contents, (e: CoreError) => e.code);
        if (typeof result === 'string') {
          // Only overlapping views bigger than their storage are refused.
          expect(result).toBe('TORCH_UNSUPPORTED');
          expect(numel).toBeGreaterThan(storageNumel);
          return;
        }
        expect(result.t.shape).toEqual(shape);
        expect(result.t.bytes).toEqual([...new Uint8Array(Int32Array.from(expected.map((i) => values[i])).buffer)]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('layout-specific behaviour', () => {
  it('reads a plain (unwrapped) state_dict, keeping tensor-free entries as metadata', async () => {
    const file = writeTorchZip(
      dict({ 'bn.weight': tensorValue(persistent(storageId({ key: '0', type: 'FloatStorage', numel: 1 }, 'zip')), 0, [1], [1]), bn: dict({ momentum: pyFloat(0.1) }) }),
      { '0': f32([5]) },
    );
    const set = await read(file);
    expect(set.tensors.map((t) => t.name)).toEqual(['bn.weight']);
    expect(set.metadata).toEqual({ bn: { momentum: 0.1 } });
  });

  it('uses the `model` entry of a checkpoint dict and describes tensors elsewhere', async () => {
    const storage = persistent(storageId({ key: '0', type: 'HalfStorage', numel: 2 }, 'zip'));
    const file = writeTorchZip(
      dict({ model: dict({ w: tensorValue(storage, 0, [2], [1]) }), optimizer: dict({ m: tensorValue(storage, 1, [1], [1]) }), best: 2n ** 70n }),
      { '0': Uint8Array.from([1, 2, 3, 4]) },
    );
    const set = await read(file);
    expect(set.tensors.map((t) => [t.name, t.dtype])).toEqual([['w', 'F16']]);
    expect(set.metadata).toEqual({ optimizer: { m: { $tensor: { dtype: 'F16', shape: [1] } } }, best: (2n ** 70n).toString() });
  });

  it.each([{ deflate: true }, { zip64: true }, { deflate: true, zip64: true }])('reads zip archives written with %p', async (opts) => {
    const values = range(3000).map((i) => Math.sin(i));
    const storage = persistent(storageId({ key: '0', type: 'FloatStorage', numel: 3000 }, 'zip'));
    const file = writeTorchZip(dict({ w: tensorValue(storage, 0, [30, 100], [100, 1]) }), { '0': f32(values) }, opts);
    const got = await contents(await read(file));
    expect(got.w.bytes).toEqual(f32Bytes(values));
  });

  it('resolves legacy storage views', async () => {
    const root: StorageSpec = { key: 'root', type: 'FloatStorage', numel: 6 };
    const view: StorageSpec = { ...root, view: ['view', 2, 3] };
    const file = writeTorchLegacy(
      dict({ a: tensorValue(persistent(storageId(view, 'legacy')), 1, [2], [1]), b: tensorValue(persistent(storageId(root, 'legacy')), 0, [6], [1]) }),
      [{ key: 'root', elementSize: 4, bytes: f32([0, 1, 2, 3, 4, 5]) }],
    );
    const got = await contents(await read(file));
    expect(got.a.bytes).toEqual(f32Bytes([3, 4]));
    expect(got.b.bytes).toEqual(f32Bytes([0, 1, 2, 3, 4, 5]));
  });

  it('reads joblib payloads above the inline limit from the source without copying the pickle', async () => {
    const values = range(40_000).map((i) => i / 7);
    const inner = legacyStorageBytes('FloatStorage', '140', f32(values), 4);
    const file = writeJoblib(dict({ big: tensorValue(loadFromBytesValue(inner), 0, [200, 200], [1, 200]) }));
    const reads: [number, number][] = [];
    const source = bufferSource(file);
    const spied = { ...source, read: (offset: number, length: number) => (reads.push([offset, length]), source.read(offset, length)) };
    const set = await readTorchCheckpoint(spied);
    // Reads are bounded by the unpickler's 64 KiB read-ahead, never the whole 160 kB payload.
    expect(file.length).toBeGreaterThan(160_000);
    expect(reads.every(([, length]) => length <= 64 * 1024)).toBe(true);
    const transposed = range(40_000).map((i) => values[(i % 200) * 200 + Math.floor(i / 200)]);
    expect(Buffer.from(await readAll(set.tensors[0])).equals(f32(transposed))).toBe(true);
  });

  it('refuses big-endian legacy files and unknown persistent ids', async () => {
    const storage = persistent(storageId({ key: 'k', type: 'FloatStorage', numel: 1 }, 'legacy'));
    const storages = [{ key: 'k', elementSize: 4, bytes: f32([1]) }];
    const bigEndian = writeTorchLegacy(dict({ w: tensorValue(storage, 0, [1], [1]) }), storages, { littleEndian: false });
    await expect(read(bigEndian)).rejects.toMatchObject({ code: 'TORCH_UNSUPPORTED' });
    const moduleId = writeTorchLegacy(dict({ m: persistent(tuple('module', 'Net', 'src')) }), []);
    await expect(read(moduleId)).rejects.toMatchObject({ code: 'TORCH_UNSUPPORTED' });
  });

  /** A zip checkpoint holding one F32 tensor view of a storage entry. */
  const zipView = (numel: number, offset: number, shape: number[], stride: number[], entry: Uint8Array | null) =>
    writeTorchZip(
      dict({ w: tensorValue(persistent(storageId({ key: '0', type: 'FloatStorage', numel }, 'zip')), offset, shape, stride) }),
      entry ? { '0': entry } : {},
    );
  const loopList = () => {
    const loop: PickleValue[] = [1];
    loop.push(loop);
    return writeJoblib(dict({ loop }));
  };
  const nested = (levels: number, wrap: (inner: PickleValue) => PickleValue) => {
    let value: PickleValue = [1];
    for (let i = 0; i < levels; i++) value = wrap(value);
    return writeJoblib(dict({ value }));
  };
  const legacyOne = () => {
    const storage = persistent(storageId({ key: 'k', type: 'FloatStorage', numel: 1 }, 'legacy'));
    return writeTorchLegacy(dict({ w: tensorValue(storage, 0, [1], [1]) }), [{ key: 'k', elementSize: 4, bytes: f32([1]) }]);
  };
  const duplicateNames = () => {
    const storage = persistent(storageId({ key: '0', type: 'FloatStorage', numel: 1 }, 'zip'));
    const t = tensorValue(storage, 0, [1], [1]);
    return writeTorchZip(dict({ 'a.b': t, a: dict({ b: t }) }), { '0': f32([1]) });
  };

  it.each<[string, () => Uint8Array, string]>([
    ['a view past its storage', () => zipView(4, 2, [3], [1], f32([1, 2, 3, 4])), 'TORCH_FORMAT_INVALID'],
    ['a storage larger than its entry', () => zipView(5, 0, [1], [1], f32([1, 2, 3, 4])), 'TORCH_FORMAT_INVALID'],
    ['a missing storage entry', () => zipView(1, 0, [1], [1], null), 'TORCH_FORMAT_INVALID'],
    ['an expanded view larger than its storage', () => zipView(1, 0, [1000], [0], f32([1])), 'TORCH_UNSUPPORTED'],
    ['a legacy storage count past the end', () => legacyOne().subarray(0, -1), 'TORCH_FORMAT_INVALID'],
    ['a top-level integer', () => writeJoblib(5), 'TORCH_FORMAT_INVALID'],
    ['duplicate flattened names', duplicateNames, 'TORCH_FORMAT_INVALID'],
    ['a self-referencing list', loopList, 'TORCH_FORMAT_INVALID'],
    ['nesting 100 deep', () => nested(100, (inner) => [inner]), 'TORCH_FORMAT_INVALID'],
    ['exponential sharing through the memo', () => nested(40, (inner) => [inner, inner]), 'TORCH_FORMAT_INVALID'],
  ])('refuses %s', async (_, make, code) => {
    const error = await read(make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).code).toBe(code);
  });

  it('refuses forbidden globals wherever they appear', async () => {
    const payload = call(global('subprocess', 'check_output'), tuple('id'));
    const evil = writeJoblib(dict({ x: call(global('torch.storage', '_load_from_bytes'), payload) }));
    await expect(read(evil)).rejects.toMatchObject({ code: 'PICKLE_FORBIDDEN_GLOBAL', details: { global: 'subprocess.check_output' } });
    const inZip = writeTorchZip(dict({ x: call(global('torch', 'load'), 'x') }), {});
    await expect(read(inZip)).rejects.toMatchObject({ code: 'PICKLE_FORBIDDEN_GLOBAL', message: expect.stringContaining('torch.load') });
  });
});
