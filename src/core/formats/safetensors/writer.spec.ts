import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoreError } from '../../errors';
import { bufferSource, withFileSource } from '../../io/random-access';
import { DTYPES, dtypeSize, numElements, type Dtype } from '../../tensor/dtypes';
import { fixturesDir } from '../../testing/fixtures';
import { readAll, type LazyTensor } from '../tensor-set';
import { encodeSafetensorsHeader, serializeSafetensors, type InMemoryTensor } from './header-encode';
import { readSafetensors } from './reader';
import { writeSafetensors } from './writer';

function tensorOf(name: string, dtype: Dtype, shape: number[], seed = 1): InMemoryTensor {
  const data = new Uint8Array(numElements(shape) * dtypeSize(dtype));
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed) & 0xff;
  return { name, dtype, shape, data };
}

function lazyOf(tensor: InMemoryTensor, chunkBytes = 3): LazyTensor {
  return {
    name: tensor.name,
    dtype: tensor.dtype,
    shape: tensor.shape,
    async *chunks() {
      for (let o = 0; o < tensor.data.length; o += chunkBytes) yield tensor.data.slice(o, o + chunkBytes);
    },
  };
}

/** A consumer that accepts one chunk at a time and takes a tick per chunk. */
function slowSink(): Writable & { received: Buffer[] } {
  const received: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, callback) {
      received.push(Buffer.from(chunk));
      setImmediate(callback);
    },
  });
  return Object.assign(sink, { received });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const mixed: InMemoryTensor[] = [
  ...DTYPES.map((dtype, i) => tensorOf(`t.${dtype}`, dtype, [2, 3], i)),
  tensorOf('scalar', 'F64', []),
  tensorOf('empty', 'BF16', [0, 4]),
  tensorOf('odd', 'U8', [5]),
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'safetensors-writer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('encodeSafetensorsHeader', () => {
  it('writes compact JSON with __metadata__ first, padded with spaces to a multiple of 8', () => {
    const header = encodeSafetensorsHeader([{ name: 'w', dtype: 'F32', shape: [2] }], { format: 'pt' });
    const length = Number(new DataView(header.buffer).getBigUint64(0, true));
    const json = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(length % 8).toBe(0);
    expect(header.byteLength).toBe(8 + length);
    expect(new TextDecoder().decode(header.subarray(8))).toBe(json.padEnd(length, ' '));
  });

  it('omits empty metadata and rejects bad entries', () => {
    expect(new TextDecoder().decode(encodeSafetensorsHeader([], {}).subarray(8)).trim()).toBe('{}');
    const bad: [string, () => unknown][] = [
      ['duplicate', () => encodeSafetensorsHeader([{ name: 'a', dtype: 'U8', shape: [] }, { name: 'a', dtype: 'U8', shape: [] }])],
      ['reserved', () => encodeSafetensorsHeader([{ name: '__metadata__', dtype: 'U8', shape: [] }])],
      ['dtype', () => encodeSafetensorsHeader([{ name: 'a', dtype: 'U32' as Dtype, shape: [] }])],
      ['shape', () => encodeSafetensorsHeader([{ name: 'a', dtype: 'U8', shape: [-1] }])],
      ['metadata', () => encodeSafetensorsHeader([], { a: 1 as unknown as string })],
    ];
    for (const [, run] of bad) expect(run).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('serializeSafetensors', () => {
  it('round-trips every dtype, scalars, empty tensors and metadata through the reader', async () => {
    const bytes = serializeSafetensors(mixed, { format: 'pt', note: 'é ✓' });
    const set = await readSafetensors(bufferSource(bytes));
    expect(set.metadata).toEqual({ format: 'pt', note: 'é ✓' });
    expect(set.header.dataOffset % 8).toBe(0);
    expect(set.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(mixed.map((t) => [t.name, t.dtype, t.shape]));
    for (let i = 0; i < mixed.length; i++) expect(await readAll(set.tensors[i])).toEqual(mixed[i].data);
  });

  it('rejects data of the wrong length', () => {
    expect(() => serializeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(7) }])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('writeSafetensors', () => {
  it('writes a file identical to serializeSafetensors, atomically, with its sha256', async () => {
    const path = join(dir, 'out.safetensors');
    const result = await writeSafetensors(path, mixed.map((t) => lazyOf(t)), { format: 'pt' });
    const written = readFileSync(path);
    const expected = serializeSafetensors(mixed, { format: 'pt' });
    expect(written.equals(expected)).toBe(true);
    expect(result).toEqual({ bytesWritten: expected.byteLength, sha256: sha256(expected) });
    expect(readdirSync(dir)).toEqual(['out.safetensors']);
  });

  it('accepts any iterable, and streams to a slow consumer with backpressure', async () => {
    const sink = slowSink();
    let produced = 0;
    let maxAhead = 0;
    const big: LazyTensor = {
      name: 'big',
      dtype: 'U8',
      shape: [200 * 64],
      async *chunks() {
        for (let i = 0; i < 200; i++) {
          produced++;
          maxAhead = Math.max(maxAhead, produced - sink.received.length);
          yield new Uint8Array(64).fill(i);
        }
      },
    };
    function* tensors(): Generator<LazyTensor> {
      yield lazyOf(tensorOf('a', 'F32', [3]));
      yield big;
    }
    const result = await writeSafetensors(sink, tensors());
    const bytes = Buffer.concat(sink.received);
    expect(sink.writableFinished).toBe(true);
    expect(result).toEqual({ bytesWritten: bytes.byteLength, sha256: sha256(bytes) });
    expect(maxAhead).toBeLessThanOrEqual(3); // never runs ahead of the consumer
    const set = await readSafetensors(bufferSource(bytes));
    expect((await readAll(set.tensors[1]))[64 * 199]).toBe(199);
  });

  it.each([
    ['too few bytes', 11, 'produced 11 bytes'],
    ['too many bytes', 13, 'produced at least 13 bytes'],
  ])('rejects a tensor yielding %s and leaves no file behind', async (_, length, phrase) => {
    const path = join(dir, 'out.safetensors');
    const liar: LazyTensor = { ...lazyOf({ ...tensorOf('x', 'F32', [3]), data: new Uint8Array(length) }), shape: [3] };
    const error = await writeSafetensors(path, [lazyOf(tensorOf('a', 'U8', [4])), liar]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).code).toBe('INVALID_ARGUMENT');
    expect((error as CoreError).message).toContain(phrase);
    expect((error as CoreError).details).toEqual({ tensor: 'x', expectedBytes: 12 });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps an existing file when a write fails, and passes producer errors through', async () => {
    const path = join(dir, 'out.safetensors');
    writeFileSync(path, 'previous');
    const failing: LazyTensor = {
      name: 'f',
      dtype: 'U8',
      shape: [4],
      async *chunks() {
        yield new Uint8Array(2);
        throw new Error('disk on fire');
      },
    };
    await expect(writeSafetensors(path, [failing])).rejects.toThrow('disk on fire');
    expect(readFileSync(path, 'utf8')).toBe('previous');
    expect(readdirSync(dir)).toEqual(['out.safetensors']);
  });

  it('destroys an output stream when a write fails', async () => {
    const sink = slowSink();
    const liar: LazyTensor = { ...lazyOf(tensorOf('x', 'U8', [2])), shape: [3] };
    await expect(writeSafetensors(sink, [liar])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(sink.destroyed).toBe(true);
    expect(sink.writableFinished).toBe(false);
  });

  it('reproduces the reference writer byte for byte (resnet18 fixture sha256)', async () => {
    const runtime = JSON.parse(readFileSync(fixturesDir('runtime', 'runtime.json'), 'utf8'));
    const path = join(dir, 'resnet18.safetensors');
    const result = await withFileSource(fixturesDir('runtime', 'resnet18.weights.safetensors'), async (source) => {
      const set = await readSafetensors(source);
      return writeSafetensors(path, set.tensors);
    });
    expect(result.sha256).toBe(runtime.models.resnet18.weights_sha256);
    expect(sha256(readFileSync(path))).toBe(result.sha256);
  });
});
