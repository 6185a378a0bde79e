import * as tf from '@tensorflow/tfjs-core';
import type { RandomStream } from './seeded-random';

/** Below this many columns (of the tall orientation) the plain float64 Householder QR is used. */
const BLOCKED_FROM = 96;
/** Panel width of the blocked QR: panels factor in JS, trailing updates are tf matmuls. */
const PANEL = 32;

/**
 * torch.nn.init.orthogonal_ semantics on a (rows × cols) flattening of a weight: draw a Gaussian
 * matrix, QR-decompose it (transposed when rows < cols), fix the signs with diag(R) so the result
 * is uniformly (Haar) distributed, and scale by `gain`. Rows (or columns, when cols < rows) are
 * orthonormal. Householder QR on the taller orientation (m × n, m ≥ n), O(m·n²) arithmetic: in
 * float64 JS for small n, blocked (compact WY) with the large products on the active tf backend in
 * float32 otherwise (torch runs float32 weights' QR in float32 too). Backends round differently,
 * so the last bits of large matrices depend on the backend.
 */
export function orthogonalMatrix(rows: number, cols: number, random: RandomStream, gain = 1): Float64Array {
  const out = new Float64Array(rows * cols);
  if (rows === 0 || cols === 0) return out;
  // Gaussian draws in row-major (rows × cols) order, as torch fills `flattened`.
  const gaussian = new Float64Array(rows * cols);
  for (let i = 0; i < gaussian.length; i++) gaussian[i] = random.normal();
  const transposed = rows < cols;
  const m = transposed ? cols : rows;
  const n = transposed ? rows : cols;
  // Column-major m × n: column j is contiguous, which keeps the Householder loops streaming.
  const a = new Float64Array(m * n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = gaussian[r * cols + c];
      if (transposed) a[r * m + c] = v; // element (c, r) of the transpose
      else a[c * m + r] = v;
    }
  }
  const q = n < BLOCKED_FROM ? thinQ(a, m, n) : blockedThinQ(a, m, n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = gain * q[j * m + i];
      if (transposed) out[j * cols + i] = v;
      else out[i * cols + j] = v;
    }
  }
  return out;
}

/**
 * The m × n (m ≥ n) thin Q of A = QR, column-major, with Q's columns multiplied by sign(R_jj) so
 * that R has a positive diagonal (the convention orthogonal_ applies). `a` is overwritten.
 */
function thinQ(a: Float64Array, m: number, n: number): Float64Array {
  const signs = new Float64Array(n);
  const betas = factorPanel(a, m, 0, n, signs);
  // Q = H_0 H_1 … H_{n−1} applied to the first n columns of the identity, last reflector first.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * m + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const beta = betas[k];
    if (beta === 0) continue;
    const col = k * m;
    for (let j = k; j < n; j++) {
      const cj = j * m;
      let s = 0;
      for (let i = k; i < m; i++) s += a[col + i] * q[cj + i];
      s *= beta;
      if (s === 0) continue;
      for (let i = k; i < m; i++) q[cj + i] -= s * a[col + i];
    }
  }
  flipToPositiveDiagonal(q, m, n, signs);
  return q;
}

/** Floating-point work of orthogonalMatrix (≈ 4·m·n² for the reflections and forming Q). */
export function orthogonalCost(rows: number, cols: number): number {
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  return 4 * m * n * n;
}

/** One block of reflectors H_k0 … H_{k0+kb−1} = I − V T Vᵀ (V: rows k0…m−1, unit lower trapezoid). */
interface WyBlock {
  k0: number;
  kb: number;
  /** Vᵀ, row-major kb × (m − k0), float32. */
  vt: Float32Array;
  /** V, row-major (m − k0) × kb, float32. */
  v: Float32Array;
  /** T, row-major kb × kb (upper triangular), float32. */
  t: Float32Array;
}

/**
 * blockedThinQ: the same Q as thinQ, by panels of PANEL columns. Each panel is factored in float64
 * JS; the trailing columns are updated, and Q accumulated, with tf matmuls (compact WY form).
 */
function blockedThinQ(a: Float64Array, m: number, n: number): Float64Array {
  const signs = new Float64Array(n);
  const blocks: WyBlock[] = [];
  for (let k0 = 0; k0 < n; k0 += PANEL) {
    const kb = Math.min(PANEL, n - k0);
    const betas = factorPanel(a, m, k0, kb, signs);
    const block = wyBlock(a, m, k0, kb, betas);
    blocks.push(block);
    const trailing = n - k0 - kb;
    if (trailing > 0) applyBlock(a, m, block, k0 + kb, trailing, true);
  }
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * m + j] = 1;
  for (let b = blocks.length - 1; b >= 0; b--) applyBlock(q, m, blocks[b], blocks[b].k0, n - blocks[b].k0, false);
  flipToPositiveDiagonal(q, m, n, signs);
  return q;
}

/** Negates the columns of Q whose R_jj is negative, so that R has a positive diagonal (as torch's orthogonal_ does). */
function flipToPositiveDiagonal(q: Float64Array, m: number, n: number, signs: Float64Array): void {
  for (let j = 0; j < n; j++) {
    if (signs[j] === 1) continue;
    const cj = j * m;
    for (let i = 0; i < m; i++) q[cj + i] = -q[cj + i];
  }
}

/** Householder QR of columns k0…k0+kb−1 (rows k0…m−1) in place; returns the betas, records sign(R_jj). */
function factorPanel(a: Float64Array, m: number, k0: number, kb: number, signs: Float64Array): Float64Array {
  const betas = new Float64Array(kb);
  for (let j = 0; j < kb; j++) {
    const k = k0 + j;
    const col = k * m;
    let norm2 = 0;
    for (let i = k; i < m; i++) norm2 += a[col + i] * a[col + i];
    const norm = Math.sqrt(norm2);
    const x0 = a[col + k];
    // R_kk = −sign(x0)·‖x‖ with v = x − R_kk·e_k (no cancellation).
    const alpha = x0 >= 0 ? -norm : norm;
    signs[k] = alpha < 0 ? -1 : 1;
    if (norm === 0) continue;
    a[col + k] = x0 - alpha;
    const beta = 2 / (norm2 - x0 * x0 + a[col + k] * a[col + k]);
    betas[j] = beta;
    for (let c = k + 1; c < k0 + kb; c++) {
      const cc = c * m;
      let s = 0;
      for (let i = k; i < m; i++) s += a[col + i] * a[cc + i];
      s *= beta;
      for (let i = k; i < m; i++) a[cc + i] -= s * a[col + i];
    }
  }
  return betas;
}

/** Vᵀ and T of a factored panel (LAPACK larft, forward, columnwise). */
function wyBlock(a: Float64Array, m: number, k0: number, kb: number, betas: Float64Array): WyBlock {
  const mk = m - k0;
  const v = new Float64Array(kb * mk);
  for (let j = 0; j < kb; j++) {
    const col = (k0 + j) * m;
    for (let i = j; i < mk; i++) v[j * mk + i] = a[col + k0 + i];
  }
  const t = new Float64Array(kb * kb);
  const w = new Float64Array(kb);
  for (let j = 0; j < kb; j++) {
    const beta = betas[j];
    t[j * kb + j] = beta;
    if (beta === 0) continue;
    // w = V[:, 0:j]ᵀ v_j, then T[0:j, j] = −β T[0:j, 0:j] w.
    for (let p = 0; p < j; p++) {
      let s = 0;
      for (let i = j; i < mk; i++) s += v[p * mk + i] * v[j * mk + i];
      w[p] = s;
    }
    for (let r = 0; r < j; r++) {
      let s = 0;
      for (let p = r; p < j; p++) s += t[r * kb + p] * w[p];
      t[r * kb + j] = -beta * s;
    }
  }
  const vColumns = new Float32Array(mk * kb);
  for (let j = 0; j < kb; j++) for (let i = j; i < mk; i++) vColumns[i * kb + j] = v[j * mk + i];
  return { k0, kb, vt: Float32Array.from(v), v: vColumns, t: Float32Array.from(t) };
}

/**
 * Columns c0…c0+count−1 (rows k0…m−1) of the column-major m-row matrix `x` ← (I − V T Vᵀ)ᵀ x when
 * `transposeT` (applying the block's reflectors to the trailing columns), else (I − V T Vᵀ) x
 * (accumulating Q). In row-major terms the columns are rows of Xᵀ: Xᵀ − (Xᵀ V) T' Vᵀ.
 */
function applyBlock(x: Float64Array, m: number, block: WyBlock, c0: number, count: number, transposeT: boolean): void {
  const { k0, kb, vt, v, t } = block;
  const mk = m - k0;
  const xt = new Float32Array(count * mk);
  for (let c = 0; c < count; c++) {
    const base = (c0 + c) * m + k0;
    for (let i = 0; i < mk; i++) xt[c * mk + i] = x[base + i];
  }
  const result = tf.tidy(() => {
    const xs = tf.tensor2d(xt, [count, mk]);
    const vts = tf.tensor2d(vt, [kb, mk]);
    // (Vᵀ X)ᵀ = Xᵀ V (V passed untransposed: wasm's transposed-B matmul is several times slower
    // for this thin shape); then T (for Qᵀ X: (Tᵀ Vᵀ X)ᵀ = Xᵀ V T) or Tᵀ (for Q X).
    const w = tf.matMul(tf.matMul(xs, tf.tensor2d(v, [mk, kb])), tf.tensor2d(t, [kb, kb]), false, !transposeT);
    return tf.sub(xs, tf.matMul(w, vts));
  });
  // Read outside tidy: tidy would walk a returned typed array element by element.
  const updated = result.dataSync() as Float32Array;
  result.dispose();
  for (let c = 0; c < count; c++) {
    const base = (c0 + c) * m + k0;
    for (let i = 0; i < mk; i++) x[base + i] = updated[c * mk + i];
  }
}
