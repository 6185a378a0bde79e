import { CoreError, type CoreErrorCode } from '../../errors';
import { bufferSource, withFileSource, type RandomAccessSource } from '../../io/random-access';
import { fixturesDir } from '../../testing/fixtures';
import { readAll } from '../tensor-set';
import { serializeSafetensors } from './header-encode';
import { readSafetensors, readSafetensorsHeader, readTensorBytes, type ReadSafetensorsOptions } from './reader';

/** A file with a hand-written header (objects are JSON-encoded) and `dataLength` zero bytes. */
function rawFile(header: string | object, dataLength = 0, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

async function failure(bytes: Uint8Array, opts?: ReadSafetensorsOptions): Promise<CoreError> {
  const error = await readSafetensorsHeader(bufferSource(bytes), opts).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof CoreError)) throw new Error(`expected a CoreError, got ${String(error)}`);
  return error;
}

async function codeOf(bytes: Uint8Array, opts?: ReadSafetensorsOptions): Promise<CoreErrorCode> {
  return (await failure(bytes, opts)).code;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

/** Records every read, to prove validation never touches the data section. */
function recordingSource(bytes: Uint8Array): RandomAccessSource & { reads: [number, number][] } {
  const inner = bufferSource(bytes);
  const reads: [number, number][] = [];
  return { size: inner.size, reads, read: (o, n) => (reads.push([o, n]), inner.read(o, n)), close: () => inner.close() };
}

describe('readSafetensorsHeader: file framing', () => {
  it('rejects an empty file', async () => {
    expect(await codeOf(new Uint8Array(0))).toBe('SAFETENSORS_EMPTY');
  });

  it('rejects a file shorter than the length prefix', async () => {
    const error = await failure(new Uint8Array(5));
    expect(error.code).toBe('SAFETENSORS_TRUNCATED');
    expect(error.message).toContain('5 bytes');
  });

  it('rejects a header length above the cap before reading it', async () => {
    expect(await codeOf(rawFile('{}', 0, 0xffffffffffffffffn))).toBe('SAFETENSORS_HEADER_TOO_LARGE');
    expect(await codeOf(rawFile('{}', 0, 100n * 1024n * 1024n + 1n))).toBe('SAFETENSORS_HEADER_TOO_LARGE');
    const error = await failure(rawFile({ a: f32([2], 0, 8) }, 8), { maxHeaderBytes: 16 });
    expect(error.code).toBe('SAFETENSORS_HEADER_TOO_LARGE');
    expect(error.details).toMatchObject({ maxHeaderBytes: 16 });
  });

  it('rejects a header that runs past the end of the file', async () => {
    const error = await failure(rawFile('{}', 0, 100n));
    expect(error.code).toBe('SAFETENSORS_HEADER_OUT_OF_BOUNDS');
    expect(error.details).toEqual({ headerLength: 100, fileSize: 10 });
  });

  it('rejects an invalid maxHeaderBytes option', async () => {
    expect(await codeOf(rawFile('{}'), { maxHeaderBytes: -1 })).toBe('INVALID_ARGUMENT');
  });
});

describe('readSafetensorsHeader: JSON', () => {
  it.each([
    ['truncated JSON', '{"a":'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"x"'],
    ['an empty header', ''],
    ['a byte-order mark', '\ufeff{}'],
  ])('rejects %s', async (_, header) => {
    expect(await codeOf(rawFile(header))).toBe('SAFETENSORS_HEADER_INVALID_JSON');
  });

  it('rejects invalid UTF-8', async () => {
    const bytes = rawFile('{"\u00e9":1}');
    bytes[10] = 0xff; // breaks the two-byte sequence of é
    const error = await failure(bytes);
    expect(error.code).toBe('SAFETENSORS_HEADER_INVALID_JSON');
    expect(error.message).toContain('UTF-8');
  });

  it('accepts surrounding whitespace, as the reference reader does', async () => {
    const header = await readSafetensorsHeader(bufferSource(rawFile(' \n{"a":' + JSON.stringify(f32([1], 0, 4)) + '}    ', 4)));
    expect(header.tensors.map((t) => t.name)).toEqual(['a']);
  });
});

describe('readSafetensorsHeader: structure', () => {
  it.each([
    ['an entry that is not an object', { a: 5 }],
    ['an entry that is an array', { a: [] }],
    ['a negative dimension', { a: f32([-1], 0, 0) }],
    ['a fractional dimension', { a: f32([1.5], 0, 6) }],
    ['a dimension beyond 2^53', { a: f32([2 ** 60], 0, 4) }],
    ['a shape that is not an array', { a: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }],
    ['three data offsets', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }],
    ['a negative data offset', { a: f32([1], -4, 0) }],
    ['string data offsets', { a: { dtype: 'F32', shape: [1], data_offsets: ['0', '4'] } }],
    ['an extra key', { a: { ...f32([1], 0, 4), extra: 1 } }],
    ['a missing key', { a: { dtype: 'F32', shape: [1] } }],
    ['a non-string dtype', { a: { dtype: 4, shape: [1], data_offsets: [0, 4] } }],
    ['non-string metadata values', { __metadata__: { epoch: 3 } }],
    ['metadata that is an array', { __metadata__: ['x'] }],
  ])('rejects %s', async (_, header) => {
    expect(await codeOf(rawFile(header, 4))).toBe('SAFETENSORS_HEADER_INVALID');
  });

  it('names the tensor and the key in the error', async () => {
    const error = await failure(rawFile({ 'layer.weight': { ...f32([1], 0, 4), extra: 1 } }, 4));
    expect(error.message).toContain('"layer.weight"');
    expect(error.message).toContain('"extra"');
    expect(error.details).toEqual({ tensor: 'layer.weight', key: 'extra' });
  });

  it('keeps messages short when names are huge', async () => {
    const name = 'x'.repeat(10_000);
    const error = await failure(rawFile({ [name]: { ...f32([1], 0, 4), extra: 1 } }, 4));
    expect(error.message.length).toBeLessThan(300);
    expect(error.details?.tensor).toBe(name);
  });

  it('rejects a key repeated inside an entry', async () => {
    const error = await failure(rawFile('{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4));
    expect(error.code).toBe('SAFETENSORS_HEADER_INVALID');
    expect(error.details).toEqual({ tensor: 'a', key: 'dtype' });
  });

  it('rejects unknown dtypes, listing the supported ones', async () => {
    const error = await failure(rawFile({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4));
    expect(error.code).toBe('SAFETENSORS_UNKNOWN_DTYPE');
    expect(error.message).toContain('F8_E4M3');
    expect(error.message).toContain('BF16');
    expect(error.details).toEqual({ tensor: 'w', dtype: 'F8_E4M3' });
  });

  it('rejects duplicate tensor names, which JSON.parse would silently merge', async () => {
    const entry = JSON.stringify(f32([1], 0, 4));
    const error = await failure(rawFile(`{"a":${entry},"b":${JSON.stringify(f32([1], 4, 8))},"a":${entry}}`, 8));
    expect(error.code).toBe('SAFETENSORS_DUPLICATE_TENSOR');
    expect(error.details).toEqual({ tensor: 'a' });
    // The same name spelled with an escape is still the same name.
    expect(await codeOf(rawFile(`{"a":${entry},"\\u0061":${entry}}`, 4))).toBe('SAFETENSORS_DUPLICATE_TENSOR');
  });
});

describe('readSafetensorsHeader: offsets and sizes', () => {
  it.each([
    ['overlapping tensors', { a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12, 'overlaps'],
    ['offsets that do not start at 0', { a: f32([1], 4, 8) }, 8, 'start at 0'],
    ['a hole between tensors', { a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12, 'gap after "a"'],
    ['trailing bytes after the last tensor', { a: f32([1], 0, 4) }, 8, 'trailing'],
    ['tensors extending past the end of the file', { a: f32([2], 0, 8) }, 4, 'holds only 4'],
    ['begin after end', { a: f32([0], 4, 0) }, 4, 'after end'],
    ['data but no tensors', {}, 4, 'cover only 0'],
  ])('rejects %s', async (_, header, dataLength, phrase) => {
    const error = await failure(rawFile(header, dataLength));
    expect(error.code).toBe('SAFETENSORS_OFFSETS_INVALID');
    expect(error.message).toContain(phrase);
  });

  it('rejects a byte span that does not match dtype and shape', async () => {
    const error = await failure(rawFile({ w: { dtype: 'F16', shape: [3, 2], data_offsets: [0, 8] } }, 8));
    expect(error.code).toBe('SAFETENSORS_SHAPE_MISMATCH');
    expect(error.message).toBe('tensor "w": F16 [3, 2] needs 12 bytes but data_offsets [0, 8] span 8');
    expect(error.details).toMatchObject({ tensor: 'w', expectedBytes: 12, actualBytes: 8 });
  });

  it('rejects shapes whose size overflows 2^53 without losing the exact figure', async () => {
    const error = await failure(rawFile({ w: f32([2 ** 30, 2 ** 30], 0, 4) }, 4));
    expect(error.code).toBe('SAFETENSORS_SHAPE_MISMATCH');
    expect(error.message).toContain(String(2n ** 62n));
  });

  it('accepts scalars, empty tensors sharing an offset, and sorts by offset', async () => {
    const header = await readSafetensorsHeader(
      bufferSource(
        rawFile(
          { __metadata__: { format: 'pt' }, z: f32([], 4, 8), e: f32([0, 3], 4, 4), a: f32([1], 0, 4), e2: f32([2, 0], 8, 8) },
          8,
        ),
      ),
    );
    expect(header.tensors.map((t) => [t.name, t.dataOffsets, t.byteLength])).toEqual([
      ['a', [0, 4], 4],
      ['e', [4, 4], 0],
      ['z', [4, 8], 4],
      ['e2', [8, 8], 0],
    ]);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors[2].byteOffset).toBe(header.dataOffset + 4);
    expect(header.dataOffset).toBe(8 + header.headerLength);
  });

  it('accepts an empty file body and null metadata', async () => {
    const header = await readSafetensorsHeader(bufferSource(rawFile({ __metadata__: null })));
    expect(header).toMatchObject({ tensors: [], metadata: null, fileSize: 8 + 21 });
  });
});

describe('readSafetensors', () => {
  const file = serializeSafetensors(
    [
      { name: 'b', dtype: 'U8', shape: [10], data: Uint8Array.from({ length: 10 }, (_, i) => i) },
      { name: 'a', dtype: 'I16', shape: [2], data: new Uint8Array([1, 0, 0xff, 0xff]) },
    ],
    { note: 'x' },
  );

  it('never reads the data section to validate', async () => {
    const source = recordingSource(file);
    const set = await readSafetensors(source);
    expect(source.reads.every(([offset, length]) => offset + length <= set.header.dataOffset)).toBe(true);
  });

  it('returns lazy tensors in file order, read in bounded chunks', async () => {
    const source = recordingSource(file);
    const set = await readSafetensors(source, { chunkBytes: 4 });
    expect(set.format).toBe('safetensors');
    expect(set.metadata).toEqual({ note: 'x' });
    expect(set.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['b', 'U8', [10]],
      ['a', 'I16', [2]],
    ]);
    source.reads.length = 0;
    expect(Array.from(await readAll(set.tensors[0]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(source.reads.map(([, length]) => length)).toEqual([4, 4, 2]);
    expect(Array.from(await readTensorBytes(source, set.header.tensors[1]))).toEqual([1, 0, 0xff, 0xff]);
  });

  it('reports a missing __metadata__ as {}', async () => {
    const set = await readSafetensors(bufferSource(rawFile({ a: f32([1], 0, 4) }, 4)));
    expect(set.metadata).toEqual({});
    expect(set.header.metadata).toBeNull();
  });
});

describe('golden fixtures', () => {
  it('reads the GHN-3 checkpoint header', async () => {
    const header = await withFileSource(fixturesDir('ghn', 'ghn', 'ghn3_h32_l3.safetensors'), (s) => readSafetensorsHeader(s));
    expect(header.fileSize).toBe(6167360);
    expect(header.tensors).toHaveLength(60);
    expect(header.tensors[0]).toEqual({
      name: 'bias_class.1.bias',
      dtype: 'F32',
      shape: [1000],
      dataOffsets: [0, 4000],
      byteOffset: 8 + 5496,
      byteLength: 4000,
    });
    expect(header.tensors.find((t) => t.name === 'bias_class.1.weight')?.shape).toEqual([1000, 32]);
    expect(JSON.parse(header.metadata?.config ?? '{}')).toMatchObject({ hid: 32, layers: 3, is_ghn2: false });
  });

  it('reads the resnet18 weights and their values', async () => {
    await withFileSource(fixturesDir('runtime', 'resnet18.weights.safetensors'), async (source) => {
      const set = await readSafetensors(source);
      expect(set.tensors).toHaveLength(122);
      const byName = new Map(set.header.tensors.map((t) => [t.name, t]));
      expect(byName.get('conv1.weight')).toMatchObject({ dtype: 'F32', shape: [64, 3, 7, 7], byteLength: 64 * 3 * 7 * 7 * 4 });
      expect(byName.get('fc.weight')).toMatchObject({ dtype: 'F32', shape: [1000, 512] });
      const counter = byName.get('bn1.num_batches_tracked');
      expect(counter).toMatchObject({ dtype: 'I64', shape: [], byteLength: 8 });
      expect(set.header.metadata).toBeNull();
      const last = set.header.tensors[set.header.tensors.length - 1];
      expect(last.byteOffset + last.byteLength).toBe(source.size);
    });
  });
});
