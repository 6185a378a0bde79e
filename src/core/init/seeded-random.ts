import { CoreError } from '../errors';

/**
 * Seeded pseudo-random numbers for initializations. Each tensor gets its own stream derived from
 * (seed, tensor name), so a tensor's values do not depend on which other tensors exist or on the
 * order they are generated in (a checkpoint can be streamed tensor by tensor, or regenerated in
 * part). The generator is xoshiro128** seeded through splitmix32; normals use Box–Muller in
 * float64. Values follow PyTorch's distributions but are NOT bit-equal to torch's RNG (Philox /
 * mt19937): the same seed gives the same values here on every machine, not the same as torch.
 */
export interface RandomStream {
  /** Uniform in [0, 1), 53 bits. */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
}

// Bound once: global lookups inside hot loops are slow in VM contexts (e.g. under Jest).
const { imul, sqrt, log, sin, cos, PI } = Math;

/** The largest seed accepted: torch seeds are 64-bit, JSON numbers are exact up to 2^53 − 1. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new CoreError('INVALID_ARGUMENT', `seed must be an integer in [0, 2^53 − 1], got ${seed}`, { seed });
  }
  return seed;
}

/** FNV-1a over the UTF-16 code units of `text`, from a given 32-bit state. */
function fnv1a(text: string, state: number): number {
  let h = state >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = imul(z ^ (z >>> 16), 0x85ebca6b);
  z = imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The stream of one tensor: the same (seed, name) always gives the same values. */
export function randomStream(seed: number, name: string): RandomStream {
  checkSeed(seed);
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const mix = { s: fnv1a(name, fnv1a(`${high}:${low}`, 0x811c9dc5)) };
  let a = splitmix32(mix);
  let b = splitmix32(mix);
  let c = splitmix32(mix);
  let d = splitmix32(mix);
  if ((a | b | c | d) === 0) a = 1; // xoshiro's state must not be all zero
  const next = (): number => {
    const result = imul(rotl(imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  let spare: number | null = null;
  const uniform = (): number => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  return {
    uniform,
    normal(): number {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      // 1 − u lies in (0, 1], so the logarithm is finite.
      const r = sqrt(-2 * log(1 - uniform()));
      const theta = 2 * PI * uniform();
      spare = r * sin(theta);
      return r * cos(theta);
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
