import { CoreError } from '../errors';
import type { Dataset } from './dataset';

/** Per-channel normalization applied when examples become model inputs: (value − mean) / std. */
export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** A batch ready for a model: N×C×H×W float32 inputs (normalized) and their labels. */
export interface Batch {
  readonly shape: [number, number, number, number];
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
}

/** Checks a normalization against a dataset's channel count (finite means, positive finite stds). */
export function checkNormalization(normalization: Normalization, channels: number): void {
  const { mean, std } = normalization;
  if (mean.length !== channels || std.length !== channels) {
    throw new CoreError('INVALID_ARGUMENT', `normalization needs ${channels} mean and std values, got ${mean.length} and ${std.length}`, { channels });
  }
  for (let c = 0; c < channels; c++) {
    if (!Number.isFinite(mean[c]) || !Number.isFinite(std[c]) || std[c] <= 0) {
      throw new CoreError('INVALID_ARGUMENT', `normalization of channel ${c} must have a finite mean and a positive std`, { channel: c });
    }
  }
}

/**
 * Gathers the examples `indices` (in that order) into a float32 batch, normalized per channel:
 * uint8 pixels are read as value / 255 first, so a model sees (pixel / 255 − mean) / std, the
 * convention of the dataset statistics. Stored inputs are never changed. The arithmetic is float64
 * rounded once to float32, so the same example always gives the same bits.
 */
export function gatherBatch(dataset: Dataset, indices: ArrayLike<number>, normalization: Normalization): Batch {
  const [n, c, h, w] = dataset.shape;
  checkNormalization(normalization, c);
  const plane = h * w;
  const size = c * plane;
  const inputs = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  const scale = dataset.inputs instanceof Uint8Array ? 1 / 255 : 1;
  const source = dataset.inputs;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new CoreError('INVALID_ARGUMENT', `example index ${index} is outside [0, ${n - 1}]`, { index });
    }
    labels[i] = dataset.labels[index];
    for (let ch = 0; ch < c; ch++) {
      const mean = normalization.mean[ch];
      const std = normalization.std[ch];
      const from = index * size + ch * plane;
      const to = i * size + ch * plane;
      for (let p = 0; p < plane; p++) inputs[to + p] = (source[from + p] * scale - mean) / std;
    }
  }
  return { shape: [indices.length, c, h, w], inputs, labels };
}
