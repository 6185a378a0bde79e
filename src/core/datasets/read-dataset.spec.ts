import { CoreError, type CoreErrorCode } from '../errors';
import { serializeSafetensors, type InMemoryTensor } from '../formats/safetensors';
import { bufferSource } from '../io/random-access';
import type { Dataset } from './dataset';
import { readDataset, type ReadDatasetOptions } from './read-dataset';
import { serializeDataset } from './write-dataset';

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (shape: number[], values: number[]): InMemoryTensor => ({ name: 'inputs', dtype: 'F32', shape, data: bytesOf(Float32Array.from(values)) });
const i64 = (values: number[], name = 'labels'): InMemoryTensor => ({
  name,
  dtype: 'I64',
  shape: [values.length],
  data: bytesOf(BigInt64Array.from(values.map(BigInt))),
});

/** Two 1×2×2 images and their labels, with one tensor replaced or added as needed. */
function file(overrides: { inputs?: InMemoryTensor; labels?: InMemoryTensor; extra?: InMemoryTensor[] } = {}, metadata?: Record<string, string>): Uint8Array {
  const inputs = overrides.inputs ?? f32([2, 1, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  const labels = overrides.labels ?? i64([1, 0]);
  return serializeSafetensors([inputs, labels, ...(overrides.extra ?? [])], metadata);
}

async function failure(bytes: Uint8Array, opts?: ReadDatasetOptions): Promise<CoreError> {
  const error = await readDataset(bufferSource(bytes), opts).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof CoreError)) throw new Error(`expected a CoreError, got ${String(error)}`);
  return error;
}

const codeOf = async (bytes: Uint8Array, opts?: ReadDatasetOptions): Promise<CoreErrorCode> => (await failure(bytes, opts)).code;

describe('readDataset', () => {
  it('reads float32 inputs and int64 labels, inferring the class count', async () => {
    const dataset = await readDataset(bufferSource(file()));
    expect(dataset.shape).toEqual([2, 1, 2, 2]);
    expect(Array.from(dataset.inputs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(dataset.inputs).toBeInstanceOf(Float32Array);
    expect(Array.from(dataset.labels)).toEqual([1, 0]);
    expect(dataset.classCount).toBe(2);
  });

  it('accepts uint8 inputs and int32 or uint8 labels', async () => {
    const inputs: InMemoryTensor = { name: 'inputs', dtype: 'U8', shape: [3, 1, 1, 2], data: Uint8Array.from([0, 255, 1, 2, 3, 4]) };
    const asI32: InMemoryTensor = { name: 'labels', dtype: 'I32', shape: [3], data: bytesOf(Int32Array.from([2, 0, 4])) };
    const asU8: InMemoryTensor = { name: 'labels', dtype: 'U8', shape: [3], data: Uint8Array.from([2, 0, 4]) };
    for (const labels of [asI32, asU8]) {
      const dataset = await readDataset(bufferSource(file({ inputs, labels })));
      expect(dataset.inputs).toBeInstanceOf(Uint8Array);
      expect(Array.from(dataset.inputs)).toEqual([0, 255, 1, 2, 3, 4]);
      expect(Array.from(dataset.labels)).toEqual([2, 0, 4]);
      expect(dataset.classCount).toBe(5);
    }
  });

  it('round-trips a packed dataset with its class count and names', async () => {
    const dataset: Dataset = {
      shape: [3, 2, 1, 1],
      inputs: Float32Array.from([0.5, -1, 2, 3, 4.25, 5]),
      labels: Int32Array.from([0, 0, 1]),
      classCount: 4,
      classNames: ['a', 'b', 'c', 'd'],
    };
    const back = await readDataset(bufferSource(serializeDataset(dataset)));
    expect(back.shape).toEqual(dataset.shape);
    expect(Array.from(back.inputs)).toEqual(Array.from(dataset.inputs));
    expect(Array.from(back.labels)).toEqual([0, 0, 1]);
    // The unused classes 2 and 3 survive through the file's metadata.
    expect(back.classCount).toBe(4);
    expect(back.classNames).toEqual(['a', 'b', 'c', 'd']);
  });

  it('honours an explicit class count and refuses labels at or above it', async () => {
    expect((await readDataset(bufferSource(file()), { classCount: 10 })).classCount).toBe(10);
    const error = await failure(file({ labels: i64([1, 3]) }), { classCount: 3 });
    expect(error.code).toBe('DATASET_LABELS_INVALID');
    expect(error.details).toMatchObject({ index: 1, label: 3, classCount: 3 });
    expect(await codeOf(file({ labels: i64([1, 5]) }, { class_count: '4' }))).toBe('DATASET_LABELS_INVALID');
  });

  it('refuses negative labels, as int64 and as int32', async () => {
    expect(await codeOf(file({ labels: i64([0, -1]) }))).toBe('DATASET_LABELS_INVALID');
    const i32: InMemoryTensor = { name: 'labels', dtype: 'I32', shape: [2], data: bytesOf(Int32Array.from([-7, 0])) };
    const error = await failure(file({ labels: i32 }));
    expect(error.code).toBe('DATASET_LABELS_INVALID');
    expect(error.message).toContain('-7');
  });

  it('refuses int64 labels too large for any class count', async () => {
    expect(await codeOf(file({ labels: i64([0, 2 ** 40]) }))).toBe('DATASET_LABELS_INVALID');
    expect(await codeOf(file({ labels: i64([0, 100_001]) }))).toBe('DATASET_LABELS_INVALID');
  });

  it('refuses non-integer labels', async () => {
    const labels: InMemoryTensor = { name: 'labels', dtype: 'F32', shape: [2], data: bytesOf(Float32Array.from([0, 1])) };
    expect(await codeOf(file({ labels }))).toBe('DATASET_LABELS_INVALID');
  });

  it('refuses missing, misnamed and extra tensors', async () => {
    expect(await codeOf(serializeSafetensors([f32([2, 1, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7])]))).toBe('DATASET_INVALID');
    expect(await codeOf(serializeSafetensors([{ ...f32([2, 1, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]), name: 'images' }, i64([0, 1])]))).toBe('DATASET_INVALID');
    const error = await failure(file({ extra: [i64([0], 'extra')] }));
    expect(error.code).toBe('DATASET_INVALID');
    expect(error.details).toMatchObject({ unexpected: ['extra'] });
  });

  it('refuses wrong ranks and a mismatch in N', async () => {
    expect(await codeOf(file({ inputs: f32([2, 4], [0, 1, 2, 3, 4, 5, 6, 7]) }))).toBe('DATASET_INVALID');
    const labels2d: InMemoryTensor = { ...i64([0, 1]), shape: [2, 1] };
    expect(await codeOf(file({ labels: labels2d }))).toBe('DATASET_LABELS_INVALID');
    const error = await failure(file({ labels: i64([0, 1, 1]) }));
    expect(error.code).toBe('DATASET_INVALID');
    expect(error.details).toEqual({ inputs: 2, labels: 3 });
  });

  it('refuses an empty dataset and empty images', async () => {
    expect(await codeOf(file({ inputs: f32([0, 1, 2, 2], []), labels: i64([]) }))).toBe('DATASET_EMPTY');
    expect(await codeOf(file({ inputs: f32([2, 1, 0, 2], []) }))).toBe('DATASET_INVALID');
  });

  it('refuses inputs of another dtype', async () => {
    const inputs: InMemoryTensor = { name: 'inputs', dtype: 'F64', shape: [2, 1, 1, 1], data: bytesOf(Float64Array.from([0, 1])) };
    expect(await codeOf(file({ inputs }))).toBe('DATASET_INVALID');
  });

  it('refuses non-finite float inputs', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const error = await failure(file({ inputs: f32([2, 1, 2, 2], [0, 1, 2, 3, 4, bad, 6, 7]) }));
      expect(error.code).toBe('DATASET_INVALID');
      expect(error.details).toMatchObject({ index: 5 });
    }
  });

  it('refuses absurd shapes from the header alone, before reading any data', async () => {
    const header = (shape: number[]) => {
      const json = JSON.stringify({
        inputs: { dtype: 'U8', shape, data_offsets: [0, shape.reduce((a, b) => a * b, 1)] },
        labels: { dtype: 'U8', shape: [shape[0]], data_offsets: [shape.reduce((a, b) => a * b, 1), shape.reduce((a, b) => a * b, 1) + shape[0]] },
      });
      const text = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + text.byteLength);
      new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
      out.set(text, 8);
      return out;
    };
    // Each header claims more data than the file holds; the layout checks must come first.
    const lying = (shape: number[]) => {
      const h = header(shape);
      return { size: h.byteLength + shape.reduce((a, b) => a * b, 1) + shape[0], read: async (o: number, n: number) => (o + n <= h.byteLength ? h.subarray(o, o + n) : Promise.reject(new Error('data read'))), close: async () => {} };
    };
    const code = (shape: number[], opts?: ReadDatasetOptions) => readDataset(lying(shape), opts).catch((e: CoreError) => e.code);
    expect(await code([1, 65, 1, 1])).toBe('DATASET_INVALID');
    expect(await code([1, 1, 5000, 1])).toBe('DATASET_INVALID');
    expect(await code([100, 1, 10, 10], { limits: { maxInputBytes: 9999 } })).toBe('DATASET_TOO_LARGE');
  });

  it('refuses a file that is not safetensors with the reader’s own code', async () => {
    expect(await codeOf(new Uint8Array(3))).toBe('SAFETENSORS_TRUNCATED');
  });
});
