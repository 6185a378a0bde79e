import fc from 'fast-check';
import { Writable } from 'node:stream';
import { CoreError } from '../../errors';
import { bufferSource } from '../../io/random-access';
import { DTYPES, dtypeSize, numElements } from '../../tensor/dtypes';
import { readAll, type LazyTensor } from '../tensor-set';
import { serializeSafetensors, type InMemoryTensor } from './header-encode';
import { readSafetensors } from './reader';
import { writeSafetensors } from './writer';

const tensorArb: fc.Arbitrary<Omit<InMemoryTensor, 'name'>> = fc
  .record({
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ dtype, shape }) => {
    const length = numElements(shape) * dtypeSize(dtype);
    return fc.uint8Array({ minLength: length, maxLength: length }).map((data) => ({ dtype, shape, data }));
  });

const nameArb = fc.string({ unit: 'binary', maxLength: 6 }).filter((name) => name !== '__metadata__');

const tensorSetArb = fc
  .uniqueArray(nameArb, { maxLength: 5 })
  .chain((names) => fc.tuple(...names.map((name) => tensorArb.map((t): InMemoryTensor => ({ name, ...t })))));

const metadataArb = fc.option(fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }), fc.string({ unit: 'binary' }), { maxKeys: 3, noNullPrototype: true }), {
  nil: undefined,
});

function lazyChunks(tensor: InMemoryTensor, chunkBytes: number): LazyTensor {
  return {
    ...tensor,
    async *chunks() {
      for (let o = 0; o < tensor.data.length; o += chunkBytes) yield tensor.data.subarray(o, o + chunkBytes);
    },
  };
}

async function collect(write: (out: Writable) => Promise<unknown>): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(Buffer.from(chunk));
      callback();
    },
  });
  await write(out);
  return Buffer.concat(parts);
}

/** Outcomes per result ('ok') or CoreError code, to check that both paths are really taken. */
const outcomes = new Map<string, number>();

/** Reads a file fully; returns null for a CoreError, rethrows anything else. */
async function readOrCoreError(bytes: Uint8Array): Promise<{ name: string; data: Uint8Array }[] | null> {
  try {
    const set = await readSafetensors(bufferSource(bytes));
    const tensors = [];
    let expectedBegin = 0;
    for (const [i, tensor] of set.tensors.entries()) {
      const info = set.header.tensors[i];
      const data = await readAll(tensor);
      // A result that validates must be internally consistent.
      if (data.byteLength !== numElements(tensor.shape) * dtypeSize(tensor.dtype)) throw new Error('bad tensor length');
      if (info.dataOffsets[0] !== expectedBegin) throw new Error('tensors do not tile the data section');
      expectedBegin = info.dataOffsets[1];
      tensors.push({ name: tensor.name, data });
    }
    if (set.header.dataOffset + expectedBegin !== bytes.byteLength) throw new Error('data section not covered');
    outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
    return tensors;
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    outcomes.set(e.code, (outcomes.get(e.code) ?? 0) + 1);
    return null;
  }
}

describe('safetensors properties', () => {
  it('round-trips random tensor sets exactly (serialize and stream writer agree)', async () => {
    await fc.assert(
      fc.asyncProperty(tensorSetArb, metadataArb, fc.integer({ min: 1, max: 9 }), async (tensors, metadata, chunkBytes) => {
        const bytes = serializeSafetensors(tensors, metadata);
        const streamed = await collect((out) => writeSafetensors(out, tensors.map((t) => lazyChunks(t, chunkBytes)), metadata));
        expect(Buffer.from(streamed).equals(bytes)).toBe(true);
        const set = await readSafetensors(bufferSource(bytes), { chunkBytes });
        expect(set.metadata).toEqual(metadata ?? {});
        // Empty tensors may share an offset with their neighbour; compare by name.
        const byName = new Map(set.tensors.map((t) => [t.name, t]));
        expect(byName.size).toBe(tensors.length);
        for (const t of tensors) {
          const read = byName.get(t.name);
          expect([read?.dtype, read?.shape]).toEqual([t.dtype, t.shape]);
          expect(await readAll(read as LazyTensor)).toEqual(t.data);
        }
      }),
      { numRuns: 300 },
    );
  });

  beforeEach(() => outcomes.clear());

  it('never throws anything but a CoreError on random bytes', async () => {
    const prefixed = fc
      .tuple(fc.integer({ min: 0, max: 80 }), fc.uint8Array({ maxLength: 80 }))
      .map(([length, rest]) => {
        const out = new Uint8Array(8 + rest.length);
        new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
        out.set(rest, 8);
        return out;
      });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }), prefixed), async (bytes) => {
        await readOrCoreError(bytes);
      }),
      { numRuns: 2000 },
    );
    expect(outcomes.get('SAFETENSORS_HEADER_OUT_OF_BOUNDS')).toBeGreaterThan(200);
    expect(outcomes.get('SAFETENSORS_TRUNCATED')).toBeGreaterThan(100);
  });

  it('never throws anything but a CoreError on mutated valid files', async () => {
    const smallSet = tensorSetArb.filter((t) => t.length <= 3);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('length' as const), delta: fc.integer({ min: -16, max: 16 }) }),
      fc.record({ kind: fc.constant('huge' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    await fc.assert(
      fc.asyncProperty(smallSet, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (tensors, mutations) => {
        let bytes = serializeSafetensors(tensors);
        for (const m of mutations) {
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          if (m.kind === 'flip' && bytes.length > 0) bytes[m.at % bytes.length] ^= m.xor;
          else if (m.kind === 'truncate') bytes = bytes.slice(0, m.at % (bytes.length + 1));
          else if (m.kind === 'length' && bytes.length >= 8) {
            view.setBigUint64(0, BigInt(Math.max(0, Number(view.getBigUint64(0, true)) + m.delta)), true);
          } else if (m.kind === 'huge' && bytes.length >= 8) view.setBigUint64(0, m.value, true);
          else if (m.kind === 'append') bytes = Uint8Array.from([...bytes, ...m.bytes]);
        }
        await readOrCoreError(bytes);
      }),
      { numRuns: 10000 },
    );
    // Some mutations still give a valid file (a flipped byte inside tensor data, for one): a reader
    // that refused everything would fail here, as would one that accepted everything.
    expect(outcomes.get('ok')).toBeGreaterThan(40);
    expect(outcomes.get('SAFETENSORS_HEADER_INVALID_JSON')).toBeGreaterThan(500);
    expect(outcomes.get('SAFETENSORS_OFFSETS_INVALID')).toBeGreaterThan(300);
  });
});
