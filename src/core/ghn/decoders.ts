import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import { resizeBilinear } from './bilinear';
import type { GhnConfig } from './ghn-config';
import type { Dense, GhnWeights } from './ghn-weights';
import { linear } from './nn';
import { pySlice } from './tile-params';

/** Columns o·C1 + i (o < nOut, i < nIn) of conv.2's output: only those rows of the weight are used. */
function channelColumns(nOut: number, nIn: number, c1: number): Int32Array {
  const cols = new Int32Array(nOut * nIn);
  for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) cols[o * nIn + i] = o * c1 + i;
  return cols;
}

/** FNV-1a of a column list: the cache key of a derived subset. */
function columnsHash(cols: Int32Array): string {
  let h = 0x811c9dc5;
  for (const c of cols) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return `${cols.length}:${h.toString(16)}`;
}

/** Derived column subsets kept per GHN: enough for every window and channel count a zoo needs. */
const MAX_DERIVED = 64;

/**
 * A dense layer restricted to the output columns `columns()` lists, cached in the GHN's weights
 * under `key` (the list is built only on a miss): gathering columns reads the whole weight (16 MB
 * for ghn3tm8's fc).
 */
function denseColumns(w: GhnWeights, d: Dense, key: string, columns: () => Int32Array): Dense {
  const cached = w.derived.get(key);
  if (cached) return cached;
  const idx = tf.tensor1d(columns(), 'int32');
  const sub: Dense = { w: tf.keep(tf.gather(d.w, idx, 1)) as tf.Tensor2D, b: d.b ? (tf.keep(tf.gather(d.b, idx)) as tf.Tensor1D) : null };
  idx.dispose();
  if (w.derived.size >= MAX_DERIVED) {
    const [oldest, old] = w.derived.entries().next().value as [string, Dense];
    w.derived.delete(oldest);
    tf.dispose([old.w, ...(old.b ? [old.b] : [])]);
  }
  w.derived.set(key, sub);
  return sub;
}

/**
 * The per-position MLP of the conv decoders: f (n, h0, h, w) → (n, nOut, nIn, h, w), keeping output
 * channel o·C1 + i for the selected columns.
 */
function decodeChannels(w: GhnWeights, f: tf.Tensor, cols: Int32Array | null, nOut: number, nIn: number): tf.Tensor {
  const [n, h0, h, wd] = f.shape;
  const rows = tf.reshape(tf.transpose(f, [0, 2, 3, 1]), [n * h * wd, h0]);
  const hidden = tf.relu(linear(rows, w.decoderConv0));
  const conv2 = cols === null ? w.decoderConv2 : denseColumns(w, w.decoderConv2, `conv2:${nOut}x${nIn}:${columnsHash(cols)}`, () => cols);
  const out = linear(hidden, conv2);
  return tf.transpose(tf.reshape(out, [n, h, wd, nOut, nIn]), [0, 3, 4, 1, 2]);
}

/** The class layer predictor on the centre pixel: (n, C0, in, h, w) → (n, num_classes, in). */
function classLayer(w: GhnWeights, x: tf.Tensor, row: number, col: number): tf.Tensor {
  const [n, c0, cin] = x.shape;
  const pixel = tf.reshape(tf.slice(x, [0, 0, 0, row, col], [n, c0, cin, 1, 1]), [n, c0, cin]);
  const logits = linear(tf.transpose(tf.relu(pixel), [0, 2, 1]), w.classLayer);
  return tf.transpose(logits, [0, 2, 1]);
}

/**
 * fc → ReLU, viewed (n, h0, S, S) (channel-major, as the official view), then cropped to the
 * window rows r0..r0+h, columns q0..q0+wd: only the fc columns of the window are computed (a 1×1
 * kernel needs 1/S² of them; ReLU and the crop commute with the column choice).
 */
function decoderFcWindow(w: GhnWeights, x: tf.Tensor, s: number, r0: number, h: number, q0: number, wd: number): tf.Tensor {
  const fc = w.decoderFc;
  const h0 = fc.w.shape[1] / (s * s);
  if (h === s && wd === s) return tf.reshape(tf.relu(linear(x, fc)), [x.shape[0], h0, s, s]);
  const windowColumns = (): Int32Array => {
    const cols = new Int32Array(h0 * h * wd);
    let k = 0;
    for (let c = 0; c < h0; c++) for (let r = r0; r < r0 + h; r++) for (let q = q0; q < q0 + wd; q++) cols[k++] = c * s * s + r * s + q;
    return cols;
  };
  const f = tf.relu(linear(x, denseColumns(w, fc, `fc:${r0},${h},${q0},${wd}`, windowColumns)));
  return tf.reshape(f, [x.shape[0], h0, h, wd]);
}

/**
 * ghn3's ConvDecoder3 (ghn3/nn.py) for a group's embeddings x (n, H) and key (k0, k1, kh, kw):
 * (n, min(C0,k0), min(C1,k1), kh', kw'), or (n, num_classes, min(C1,k1)) with classPred.
 */
export function convDecoder3(w: GhnWeights, c: GhnConfig, x: tf.Tensor, key: readonly number[], classPred: boolean): tf.Tensor {
  return tf.tidy(() => {
    const [C0, C1, S] = c.maxShape;
    const [k0, k1, kh, kw] = key;
    const window = (k: number): [number, number] =>
      c.isGhn2 ? pySlice(S, 0, k) : pySlice(S, Math.max(0, Math.floor(S / 2) - Math.floor(k / 2)), Math.floor(S / 2) + Math.ceil(k / 2));
    const [r0, h] = window(kh);
    const [q0, wd] = window(kw);
    const f = decoderFcWindow(w, x, S, r0, h, q0, wd);
    const nOut = classPred ? C0 : Math.min(C0, k0);
    const nIn = Math.min(C1, k1);
    const cols = nOut * nIn === C0 * C1 ? null : channelColumns(nOut, nIn, C1);
    let out = decodeChannels(w, f, cols, nOut, nIn);
    // Kernels larger than S are resized (the official code asserts a group of one; each item is resized alike).
    if (Math.min(kh, kw) > Math.min(h, wd)) out = resizeBilinear(out, kh, kw);
    if (!classPred) return out;
    const [, , , oh, ow] = out.shape;
    if (oh !== ow) throw new CoreError('GHN_UNSUPPORTED', `class-layer decoding needs a square window, got ${oh}×${ow}`);
    return classLayer(w, out, Math.floor(ow / 2), Math.floor(ow / 2));
  });
}

function ppudaFails(what: string, key: readonly number[]): never {
  throw new CoreError('GHN_UNSUPPORTED', `the ppuda GHN-2 decoder cannot produce key [${key}]: ${what} (PyTorch raises in the official code)`, {
    key: [...key],
  });
}

/**
 * ppuda's ConvDecoder: top-left windows, and a fast path that decodes only some
 * output rows of conv.2, reproduced index for index, failing where PyTorch's reshape fails.
 */
export function convDecoderPpuda(w: GhnWeights, c: GhnConfig, x: tf.Tensor, key: readonly number[], classPred: boolean): tf.Tensor {
  const [C0, C1, S] = c.maxShape;
  const [k0, k1, kh, kw] = key;
  if (kh + kw < 2 * S && (kh > S || kw > S)) ppudaFails(`a ${kh}×${kw} kernel does not fit the ${S}×${S} fc window`, key);
  const fast = k1 <= Math.floor(C1 / 2) || (k0 < C0 && !classPred);
  let rowsIndex: Int32Array | null = null;
  let nOut = C0;
  let nIn = C1;
  if (fast) {
    nIn = k1 < C1 && k1 % 3 === 0 ? Math.floor(k1 / 3) * 4 : Math.min(k1, C1);
    nOut = classPred ? C0 : Math.min(C0, k0);
    rowsIndex = ppudaFastRows(nOut, nIn, C0, C1, key);
  }
  return tf.tidy(() => {
    const a = Math.min(kh, S);
    const b = Math.min(kw, S);
    const f = decoderFcWindow(w, x, S, 0, a, 0, b);
    let out = decodeChannels(w, f, rowsIndex, nOut, nIn);
    if (fast) {
      out = tf.slice(out, [0, 0, 0, 0, 0], [-1, -1, Math.min(C1, k1), -1, -1]);
      if (Math.min(kh, kw) > Math.min(a, b)) out = tf.tile(out, [1, 1, 1, 2, 2]);
    }
    return classPred ? classLayer(w, out, 0, 0) : out;
  });
}

/** The conv.2 rows `arange(nOut·C1).reshape(-1, nIn)[::C1 // nIn].flatten()` of ppuda's fast path. */
function ppudaFastRows(nOut: number, nIn: number, c0: number, c1: number, key: readonly number[]): Int32Array | null {
  if (nIn >= c1) return nOut === c0 ? null : channelColumns(nOut, c1, c1);
  const total = nOut * c1;
  if (total % nIn !== 0) ppudaFails(`shape '[-1, ${nIn}]' is invalid for input of size ${total}`, key);
  const step = Math.floor(c1 / nIn);
  const rows: number[] = [];
  for (let r = 0; r < total / nIn; r += step) rows.push(r);
  if (rows.length !== nOut) ppudaFails(`shape '[${nOut}, ${nIn}]' is invalid for ${rows.length * nIn} decoded values`, key);
  const ind = new Int32Array(rows.length * nIn);
  rows.forEach((r, j) => {
    for (let i = 0; i < nIn; i++) ind[j * nIn + i] = r * nIn + i;
  });
  return ind;
}

/** decoder_1d: Linear → ReLU → Linear, (n, H) → (n, 2·Cmax). */
export function decoder1d(w: GhnWeights, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => linear(tf.relu(linear(x, w.decoder1d[0])), w.decoder1d[1]));
}

/** bias_class: ReLU → Linear(Cmax → num_classes) over the last dim of (n, 2, Cmax). */
export function biasClass(w: GhnWeights, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => linear(tf.relu(x), w.biasClass));
}
