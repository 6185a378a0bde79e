import { CoreError } from '../errors';
import { classCounts, inputDtype, type Dataset } from './dataset';

export interface DatasetStatistics {
  /** Number of examples the statistics cover. */
  readonly count: number;
  /** Examples per class, indexed by class. */
  readonly classCounts: number[];
  /** Per-channel mean over every pixel of the covered examples (uint8 inputs: on the 0..1 scale). */
  readonly mean: number[];
  /** Per-channel population standard deviation (divides by the pixel count, like torch.std(unbiased=False)). */
  readonly std: number[];
}

function checkIndices(indices: ArrayLike<number>, n: number): void {
  if (indices.length === 0) throw new CoreError('DATASET_EMPTY', 'statistics need at least one example');
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new CoreError('INVALID_ARGUMENT', `example index ${index} is outside [0, ${n - 1}]`, { index });
    }
  }
}

/**
 * Class counts and per-channel mean/std of the examples `indices` (default: all), accumulated in
 * float64 in two passes (mean first, then squared deviations from it), so that large datasets
 * lose no precision. Uint8 pixels are read as value / 255, the scale the service normalizes on:
 * a model sees (pixel / 255 − mean) / std. Compute these on the training split only, so that
 * validation and test data do not leak into the normalization.
 */
export function datasetStatistics(dataset: Dataset, indices?: ArrayLike<number>): DatasetStatistics {
  const [n, channels, height, width] = dataset.shape;
  const plane = height * width;
  const chosen: ArrayLike<number> = indices ?? { length: n };
  if (indices) checkIndices(indices, n);
  const at = indices ? (i: number) => indices[i] : (i: number) => i;
  const { inputs } = dataset;
  const scale = inputDtype(dataset) === 'U8' ? 1 / 255 : 1;
  const pixels = chosen.length * plane;
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(0);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = 0; i < chosen.length; i++) {
      const start = (at(i) * channels + c) * plane;
      for (let p = start; p < start + plane; p++) sum += inputs[p];
    }
    const m = sum / pixels;
    let squares = 0;
    for (let i = 0; i < chosen.length; i++) {
      const start = (at(i) * channels + c) * plane;
      for (let p = start; p < start + plane; p++) {
        const d = inputs[p] - m;
        squares += d * d;
      }
    }
    mean[c] = m * scale;
    std[c] = Math.sqrt(squares / pixels) * scale;
  }
  const labels = indices ? Int32Array.from({ length: chosen.length }, (_, i) => dataset.labels[at(i)]) : dataset.labels;
  return { count: chosen.length, classCounts: classCounts(labels, dataset.classCount), mean, std };
}
