import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';

/** [begin, size] of Python's `x[start:stop]` on a dimension of length n (negative ends count from the back). */
export function pySlice(n: number, start: number, stop: number): [number, number] {
  const norm = (i: number): number => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const b = norm(start);
  return [b, Math.max(0, norm(stop) - b)];
}

/** Python-style slicing of a tensor: one [start, stop] per leading dimension (null keeps it whole). */
function sliceDims(w: tf.Tensor, ranges: ([number, number] | null)[]): tf.Tensor {
  const begin: number[] = [];
  const size: number[] = [];
  w.shape.forEach((n, d) => {
    const r = ranges[d] ?? null;
    const [b, s] = r === null ? [0, n] : pySlice(n, r[0], r[1]);
    begin.push(b);
    size.push(s);
  });
  if (begin.every((b, d) => b === 0 && size[d] === w.shape[d])) return w;
  return tf.slice(w, begin, size);
}

/** `x[i0, i1, ...]` with integer indices on the given dims (dropped) and full ranges elsewhere. */
function pick(w: tf.Tensor, ranges: ([number, number] | number | null)[]): tf.Tensor {
  const sliced = sliceDims(w, ranges.map((r) => (typeof r === 'number' ? [r, r + 1] : r)));
  const keep = sliced.shape.filter((_, d) => typeof ranges[d] !== 'number');
  return tf.reshape(sliced, keep);
}

function dims(t: tf.Tensor): number[] {
  return t.shape as number[];
}

/**
 * The tiling functions take one tensor (`lead` 0) or a batch of tensors with the same shape and
 * target stacked on a leading dim (`lead` 1): the same ops then fit all of them at once, which
 * matters where each op has a fixed cost (a WebGPU dispatch, a wasm call).
 */
type Lead = 0 | 1;
const withLead = <T>(lead: Lead, ranges: T[]): (T | null)[] => (lead ? [null, ...ranges] : ranges);
const outer = (w: tf.Tensor, lead: Lead): number[] => dims(w).slice(0, lead);
const inner = (w: tf.Tensor, lead: Lead): number[] => dims(w).slice(lead);

function centred(len: number, size: number): [number, number] {
  const offset = Math.floor(len / 2);
  return [offset - Math.floor(size / 2), offset + Math.ceil(size / 2)];
}

/**
 * Repeats whole blocks along dim d until it reaches t, then cuts to t (`w.repeat(...)[:t]`).
 * Concatenation, because tf.tile is about ten times slower on the wasm and cpu backends.
 */
function tileDim(w: tf.Tensor, d: number, t: number, lead: Lead = 0): tf.Tensor {
  const axis = d + lead;
  const copies = Math.ceil(t / dims(w)[axis]);
  const ranges: ([number, number] | null)[] = w.shape.map((_, i) => (i === axis ? [0, t] : null));
  return sliceDims(tf.concat(new Array<tf.Tensor>(copies).fill(w), axis), ranges);
}

function fail(what: string, w: readonly number[], t: readonly number[]): never {
  throw new CoreError('GHN_UNSUPPORTED', `cannot fit a predicted [${w}] tensor to the target shape [${t}]: ${what} (the official code fails here too)`, {
    predicted: [...w],
    target: [...t],
  });
}

/**
 * GHN-3 code's _tile_params: slice the decoded tensor w to the target rank, tile
 * channels, cut; spatial crops are centred for GHN-3 and top-left in GHN-2 mode. A ViT
 * pos_embedding (3-D target from a 4-D w) gets `classRow(width)` ([1,1,width]) prepended.
 */
export function tileGhn3(
  w: tf.Tensor,
  t: readonly number[],
  ghn2: boolean,
  classRow: (width: number) => tf.Tensor,
  normalize?: (p: tf.Tensor) => tf.Tensor,
  lead: Lead = 0,
): tf.Tensor {
  return tf.tidy(() => {
    const s = inner(w, lead);
    const batch = outer(w, lead);
    const m = (j: number): [number, number] => [0, Math.min(t[j], s[j])];
    const slice = (ranges: ([number, number] | null)[]): tf.Tensor => sliceDims(w, withLead(lead, ranges));
    const pickIn = (ranges: ([number, number] | number | null)[]): tf.Tensor => pick(w, withLead(lead, ranges));
    if (t.length === 1) {
      if (s.length === 1) w = slice([m(0)]);
      else if (s.length === 2) w = pickIn([m(0), 0]);
      else if (s.length === 4) w = pickIn([m(0), 0, Math.floor(s[2] / 2), Math.floor(s[3] / 2)]);
      else fail('1-D target', s, t);
    } else if (t.length === 2) {
      if (s.length === 2) w = slice([m(0), m(1)]);
      else if (s.length === 4) w = pickIn([m(0), m(1), Math.floor(s[2] / 2), Math.floor(s[3] / 2)]);
      else if (s.length === 3) fail('2-D target from a 3-D tensor', s, t);
    } else if (t.length === 3) {
      if (s.length === 3) w = slice([m(0), m(1), m(2)]);
      else if (s.length === 4) {
        // Positional encoding: (1, C, s, s) → (1, s², C), plus a class-token row.
        w = tf.reshape(w, [...batch, s[0], s[1], s[2] * s[3]]);
        w = tf.transpose(w, lead ? [0, 1, 3, 2] : [0, 2, 1]);
        const p = inner(w, lead);
        w = sliceDims(w, withLead(lead, [[0, Math.min(t[0], p[0])], [0, Math.min(t[1], p[1])], [0, Math.min(t[2], p[2])]] as [number, number][]));
        if (inner(w, lead)[0] !== 1) fail('positional encoding with more than one row', s, t);
        const row = classRow(inner(w, lead)[2]);
        w = tf.concat([lead ? tf.broadcastTo(tf.expandDims(row, 0), [batch[0], ...dims(row)]) : row, w], 1 + lead);
      }
    } else if (t.length === 4) {
      if (s.length === 4) {
        const s2 = Math.min(t[2], s[2]);
        const s3 = Math.min(t[3], s[3]);
        w = ghn2 ? slice([m(0), m(1), [0, s2], [0, s3]]) : slice([m(0), m(1), centred(s[2], s2), centred(s[3], s3)]);
      } else if (s.length === 2) w = tf.reshape(slice([m(0), m(1)]), [...batch, Math.min(t[0], s[0]), Math.min(t[1], s[1]), 1, 1]);
      else fail('4-D target', s, t);
    }
    if (inner(w, lead).length !== t.length) fail('rank mismatch', s, t);
    if (normalize) w = normalize(w);
    if (t[0] > inner(w, lead)[0]) w = tileDim(w, 0, t[0], lead);
    if (t.length > 1) {
      if (t[1] > inner(w, lead)[1]) {
        if (t.length === 3) fail('3-D tiling of dim 1', s, t);
        w = tileDim(w, 1, t[1], lead);
      } else if (t.length === 3 && t[2] > inner(w, lead)[2]) w = tileDim(w, 2, t[2], lead);
    }
    const r = inner(w, lead);
    if (t.length < 4 || ghn2) w = sliceDims(w, withLead(lead, t.map((d) => [0, d] as [number, number])));
    else w = sliceDims(w, withLead(lead, [[0, t[0]], [0, t[1]], centred(r[2], t[2]), centred(r[3], t[3])] as [number, number][]));
    if (inner(w, lead).some((d, i) => d !== t[i])) fail(`the result is [${inner(w, lead)}]`, s, t);
    return w;
  });
}

/** ppuda's _tile_params: everything top-left; element (0,0) where a rank is dropped. */
export function tilePpuda(w: tf.Tensor, t: readonly number[], normalize?: (p: tf.Tensor) => tf.Tensor, lead: Lead = 0): tf.Tensor {
  return tf.tidy(() => {
    const s = inner(w, lead);
    const m = (j: number): [number, number] => [0, Math.min(t[j], s[j])];
    const pickIn = (ranges: ([number, number] | number | null)[]): tf.Tensor => pick(w, withLead(lead, ranges));
    if (t.length === 1) {
      if (s.length === 2) w = pickIn([m(0), 0]);
      else if (s.length === 4) w = pickIn([m(0), 0, 0, 0]);
      else if (s.length === 3) fail('1-D target from a 3-D tensor', s, t);
    } else if (t.length === 2) {
      if (s.length === 4) w = pickIn([m(0), m(1), 0, 0]);
      else if (s.length === 3) fail('2-D target from a 3-D tensor', s, t);
    } else if (t.length === 3) {
      if (s.length === 4) w = pickIn([m(0), m(1), m(2), 0]);
    } else if (t.length === 4) {
      if (s.length !== 4) fail('4-D target', s, t);
      w = sliceDims(w, withLead(lead, [m(0), m(1), m(2), m(3)]));
    }
    if (inner(w, lead).length !== t.length) fail('rank mismatch', s, t);
    if (normalize) w = normalize(w);
    if (t[0] > inner(w, lead)[0]) w = tileDim(w, 0, t[0], lead);
    if (t.length > 1 && t[1] > inner(w, lead)[1]) {
      if (t.length === 3) fail('3-D tiling of dim 1', s, t);
      w = tileDim(w, 1, t[1], lead);
    }
    w = sliceDims(w, withLead(lead, t.map((d) => [0, d] as [number, number])));
    if (inner(w, lead).some((d, i) => d !== t[i])) fail(`the result is [${inner(w, lead)}]`, s, t);
    return w;
  });
}

/**
 * Fan-in normalisation (`_normalize`, identical in both code bases) of a tensor bound for shape
 * `target` (default: its own): weights of rank > 1 scaled by √(β / fan_in); 1-D weights → 2σ(p/2),
 * 1-D biases → tanh(p/5); positional encodings untouched. Elementwise, so it may run before tiling.
 */
export function normalizeParam(p: tf.Tensor, isW: boolean, target: readonly number[] = dims(p)): tf.Tensor {
  return tf.tidy(() => {
    const sz = target;
    if (sz.length > 1) {
      if (sz.length > 2 && sz[2] >= 11 && sz[0] === 1) return p.clone();
      if (sz.length === 3 && sz[1] !== 1) fail('normalising a 3-D tensor reads a 4th dimension', sz, sz);
      const beta = sz.length > 2 && (sz[1] === 1 || sz[2] < sz[3]) ? 1 : 2;
      const fanIn = sz.slice(1).reduce((a, b) => a * b, 1);
      return tf.mul(p, Math.sqrt(beta / fanIn));
    }
    return isW ? tf.mul(tf.sigmoid(tf.mul(p, 0.5)), 2) : tf.tanh(tf.mul(p, 0.2));
  });
}
