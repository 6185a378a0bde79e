import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isCoreError } from '../../errors';
import { fixturesDir } from '../../testing/fixtures';
import { readAll } from '../tensor-set';
import { readOnnxModel } from './onnx-codec';
import { listInitializers } from './onnx-initializers';
import { graphSummary } from './onnx-summary';
import { readOnnxTensors } from './onnx-tensors';
import { writeOnnxModel } from './onnx-writer';

/**
 * Hostile input: random bytes and mutations of small valid models must end in a CoreError or a
 * valid result, never another exception, a hang, or an allocation out of proportion to the input.
 */

// Embedded weights (tiny_mlp) and a graph-only model with external references (alexnet), loaded once.
const seeds = [fixturesDir('ghn', 'runs', 'ghn3_h32_l3', 'tiny_mlp.onnx'), fixturesDir('arch', 'onnx', 'alexnet.onnx')].map(
  (path) => new Uint8Array(readFileSync(path)),
);

/** Typed fields expand at most 8x (a 1-byte varint in int64_data becomes 8 bytes). */
const MAX_EXPANSION = 8;

/** Outcomes per result ('ok') or CoreError code, to check that both paths are really taken. */
const outcomes = new Map<string, number>();
const count = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

async function exercise(bytes: Uint8Array): Promise<void> {
  try {
    const model = readOnnxModel(bytes);
    const infos = listInitializers(model);
    graphSummary(model);
    const set = await readOnnxTensors(model);
    if (set.tensors.length > infos.length) throw new Error('more tensors than initializers');
    let total = 0;
    let externalTried = false;
    for (const tensor of set.tensors) {
      const external = infos.find((i) => i.name === tensor.name)?.external !== undefined;
      if (external && externalTried) continue; // each fails alike (no data file here): try one
      externalTried ||= external;
      try {
        total += (await readAll(tensor)).byteLength;
      } catch (e) {
        if (!isCoreError(e)) throw e;
      }
    }
    if (total > MAX_EXPANSION * bytes.byteLength) throw new Error(`${total} tensor bytes from ${bytes.byteLength} input bytes`);
    writeOnnxModel(model, new Map(), { keepMissing: true });
    count('ok');
  } catch (e) {
    if (!isCoreError(e)) throw e;
    count(e.code);
  }
}

/** A position as a fraction of the length, so that mutations spread over the whole file. */
// (Not fc.double: it draws doubles evenly by representation, so most would be tiny.)
const fraction = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);
const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });

const mutation = fc.record({
  seed: fc.integer({ min: 0, max: seeds.length - 1 }),
  flips: fc.array(fc.record({ at: fraction, value: fc.integer({ min: 0, max: 255 }) }), { minLength: 0, maxLength: 6 }),
  // Keep a prefix (truncation), and cut a slice out of the middle.
  keep: sometimes(fraction),
  cut: sometimes(fc.record({ at: fraction, length: fc.integer({ min: 1, max: 64 }) })),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate({ seed, flips, keep, cut }: Mutation): Uint8Array {
  let bytes = seeds[seed].slice();
  for (const { at, value } of flips) bytes[Math.floor(at * bytes.length)] = value;
  if (cut) {
    const at = Math.floor(cut.at * bytes.length);
    const rest = bytes.subarray(Math.min(bytes.length, at + cut.length));
    const shorter = new Uint8Array(at + rest.length);
    shorter.set(bytes.subarray(0, at));
    shorter.set(rest, at);
    bytes = shorter;
  }
  if (keep !== undefined) bytes = bytes.subarray(0, Math.floor(keep * bytes.length));
  return bytes;
}

describe('ONNX reading of hostile input', () => {
  it('the seeds are valid models', async () => {
    for (const seed of seeds) expect(listInitializers(readOnnxModel(seed)).length).toBeGreaterThan(0);
  });

  it('random bytes end in a CoreError or a valid result', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), exercise), { numRuns: 3000 });
  });

  it('flipped, cut and truncated models end in a CoreError or a valid result', async () => {
    outcomes.clear();
    await fc.assert(fc.asyncProperty(mutation, (m) => exercise(mutate(m))), { numRuns: 7000 });
    expect(outcomes.get('ok')).toBeGreaterThan(1000);
    expect(outcomes.get('ONNX_INVALID')).toBeGreaterThan(1000);
  }, 30_000);
});
