import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CoreError } from '../../errors';
import { bufferSource } from '../../io/random-access';
import { dtypeSize, numElements } from '../../tensor/dtypes';
import { fixturesDir } from '../../testing/fixtures';
import { readAll } from '../tensor-set';
import { readTorchCheckpoint } from './read-torch-checkpoint';
import {
  LEGACY_MAGIC,
  legacyStorageBytes,
  loadFromBytesValue,
  storageId,
  tensorValue,
  writeJoblib,
  writeTorchLegacy,
  writeTorchZip,
} from './testing/checkpoint-writers';
import { call, dict, global, orderedDict, persistent, pyBytes, pyFloat, tuple, writePickle } from './testing/pickle-writer';

/** Outcomes per result ('ok') or CoreError code, to check that both paths are really taken. */
const outcomes = new Map<string, number>();

/** Reads everything a checkpoint offers; any failure must be a CoreError. */
async function readFully(bytes: Uint8Array): Promise<string> {
  const outcome = await readOutcome(bytes);
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  return outcome;
}

async function readOutcome(bytes: Uint8Array): Promise<string> {
  try {
    const set = await readTorchCheckpoint(bufferSource(bytes));
    for (const tensor of set.tensors) {
      const data = await readAll(tensor);
      if (data.byteLength !== numElements(tensor.shape) * dtypeSize(tensor.dtype)) throw new Error(`wrong byte count for ${tensor.name}`);
    }
    JSON.stringify(set.metadata);
    return 'ok';
  } catch (error) {
    if (error instanceof CoreError) return error.code;
    throw error;
  }
}

function smallCheckpoints(): Uint8Array[] {
  const f32 = (n: number) => new Uint8Array(Float32Array.from({ length: n }, (_, i) => i * 0.5).buffer);
  const zipRef = persistent(storageId({ key: '0', type: 'FloatStorage', numel: 12 }, 'zip'));
  const halfRef = persistent(storageId({ key: '1', type: 'HalfStorage', numel: 4 }, 'zip'));
  const zipRoot = dict({
    state_dict: orderedDict({ w: tensorValue(zipRef, 0, [3, 4], [4, 1]), t: tensorValue(zipRef, 1, [2, 3], [1, 4]), h: tensorValue(halfRef, 0, [4], [1]) }),
    epoch: 2,
    config: dict({ lr: pyFloat(0.5), name: 'x', shape: tuple(1, 2) }),
  });
  const storages = { '0': f32(12), '1': new Uint8Array(8).fill(0x3c) };
  const legacyRef = persistent(storageId({ key: 'k', type: 'FloatStorage', numel: 6 }, 'legacy'));
  const legacyView = persistent(storageId({ key: 'k', type: 'FloatStorage', numel: 6, view: ['v', 1, 4] }, 'legacy'));
  const legacyRoot = dict({ a: tensorValue(legacyRef, 0, [2, 3], [3, 1]), b: tensorValue(legacyView, 0, [2, 2], [1, 2]) });
  const inner = legacyStorageBytes('LongStorage', '99', new Uint8Array(48).map((_, i) => i), 8);
  const joblibRoot = dict({
    x: tensorValue(loadFromBytesValue(inner), 0, [2, 3], [3, 1]),
    y: tensorValue(loadFromBytesValue(inner), 2, [2], [2]),
    s: call(global('builtins', 'set'), [1, 2]),
    b: pyBytes(Uint8Array.from([1, 2, 3])),
  });
  return [
    writeTorchZip(zipRoot, storages),
    writeTorchZip(zipRoot, storages, { deflate: true }),
    writeTorchZip(zipRoot, storages, { zip64: true }),
    writeTorchLegacy(legacyRoot, [{ key: 'k', elementSize: 4, bytes: f32(6) }]),
    writeJoblib(joblibRoot),
    writeJoblib(joblibRoot, { protocol: 2 }),
    writePickle(LEGACY_MAGIC),
  ];
}

interface Mutation {
  flips: [number, number][];
  truncateAt: number | null;
  region: 'head' | 'tail' | 'any';
}

const mutation = fc.record({
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 0, maxLength: 6 }),
  truncateAt: fc.option(fc.nat(), { freq: 4 }),
  region: fc.constantFrom<Mutation['region']>('head', 'tail', 'any'),
});

/**
 * Applies byte flips (within the first or last 8 KiB, where the structure of big files lives) and a
 * truncation to `bytes` in place, runs `check`, then restores `bytes` (the fixtures are not copied).
 */
async function withMutation(bytes: Uint8Array, m: Mutation, check: (mutated: Uint8Array) => Promise<unknown>): Promise<void> {
  const window = Math.min(bytes.length, 8192);
  const saved: [number, number][] = [];
  for (const [position, value] of m.flips) {
    if (bytes.length === 0) break;
    const at = m.region === 'head' ? position % window : m.region === 'tail' ? bytes.length - 1 - (position % window) : position % bytes.length;
    saved.push([at, bytes[at]]);
    bytes[at] = value;
  }
  let end = bytes.length;
  if (m.truncateAt !== null) end = m.region === 'tail' || bytes.length <= window ? m.truncateAt % (bytes.length + 1) : m.truncateAt % window;
  try {
    await check(bytes.subarray(0, end));
  } finally {
    for (const [at, value] of saved.reverse()) bytes[at] = value;
  }
}

describe('readTorchCheckpoint on hostile input', () => {
  // Thousands of property runs: a few seconds on an idle core, more on a loaded one.
  jest.setTimeout(60_000);
  const small = smallCheckpoints();

  afterEach(() => {
    // Mutations are undone after each case, so the inputs must come back intact.
    expect(smallCheckpoints()).toEqual(small);
  });

  it('reads the unmutated small checkpoints', async () => {
    for (const bytes of small.slice(0, -1)) expect(await readFully(bytes)).toBe('ok');
  });

  beforeEach(() => outcomes.clear());

  it('ends random bytes in a CoreError or a valid TensorSet', async () => {
    const prefixes = [[], [0x50, 0x4b, 0x03, 0x04], [0x80, 2], [0x80, 4], [0x80, 5], [...writePickle(LEGACY_MAGIC)]];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 160 }), async (prefix, tail) => {
        await readFully(Uint8Array.from([...prefix, ...tail]));
      }),
      { numRuns: 4000 },
    );
    // Both paths are taken: a reader that accepted anything, or refused everything, would fail here.
    expect(outcomes.get('PICKLE_INVALID')).toBeGreaterThan(500);
    expect(outcomes.get('TORCH_FORMAT_INVALID')).toBeGreaterThan(500);
  });

  it('ends mutations of small checkpoints of every layout in a CoreError or a valid TensorSet', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...small), mutation, (base, m) => withMutation(base, m, readFully)),
      { numRuns: 6000 },
    );
    // About 5% of mutations still read (a flipped tensor byte, a cut past the end of the pickle):
    // a reader that refused everything would fail here, as would one that accepted everything.
    expect(outcomes.get('ok')).toBeGreaterThan(100);
    expect(outcomes.get('PICKLE_INVALID')).toBeGreaterThan(500);
    expect(outcomes.get('TORCH_FORMAT_INVALID')).toBeGreaterThan(500);
  });

  it('ends mutations of the golden fixtures in a CoreError or a valid TensorSet', async () => {
    const fixtures = ['ghn3_h32_l3.state_dict.pt', 'ghn3_h32_l3.torchsave.pt', 'ghn3_h32_l3.joblib.pt', 'malicious.pkl.pt'].map((name) =>
      readFileSync(fixturesDir('checkpoint-formats', name)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fixtures), mutation, (base, m) => withMutation(base, m, readFully)),
      { numRuns: 400 },
    );
    expect(outcomes.get('ok')).toBeGreaterThan(10);
    expect((outcomes.get('PICKLE_INVALID') ?? 0) + (outcomes.get('TORCH_FORMAT_INVALID') ?? 0)).toBeGreaterThan(100);
  });
});
