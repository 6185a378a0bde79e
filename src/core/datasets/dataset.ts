import { CoreError } from '../errors';

/**
 * An image-classification dataset held in memory: `inputs` is N×C×H×W, C-contiguous, either
 * float32 (values as given) or uint8 (pixels 0..255, read on the 0..1 scale: value / 255), and
 * `labels` holds one class index in [0, classCount) per example.
 */
export interface Dataset {
  /** [N, C, H, W]. */
  readonly shape: readonly [number, number, number, number];
  readonly inputs: Float32Array | Uint8Array;
  readonly labels: Int32Array;
  readonly classCount: number;
  /** Optional human-readable class names, classCount of them. */
  readonly classNames?: readonly string[];
}

export type InputDtype = 'F32' | 'U8';

export function inputDtype(dataset: Pick<Dataset, 'inputs'>): InputDtype {
  return dataset.inputs instanceof Uint8Array ? 'U8' : 'F32';
}

/** Guards against absurd or hostile shapes, checked from the header before any data is read. */
export interface DatasetLimits {
  /** Largest inputs tensor accepted, in bytes. */
  readonly maxInputBytes: number;
  readonly maxChannels: number;
  /** Largest image height or width. */
  readonly maxSide: number;
  readonly maxClasses: number;
}

export const DEFAULT_DATASET_LIMITS: DatasetLimits = {
  maxInputBytes: 2 * 1024 ** 3,
  maxChannels: 64,
  maxSide: 4096,
  maxClasses: 100_000,
};

export function datasetError(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('DATASET_INVALID', message, details);
}

export function labelsError(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('DATASET_LABELS_INVALID', message, details);
}

/**
 * The class count to use: `given` when set (every label must then be below it), else the largest
 * label plus one. Throws DATASET_LABELS_INVALID for a label outside [0, classCount).
 */
export function resolveClassCount(labels: Int32Array, given: number | undefined, limits: DatasetLimits = DEFAULT_DATASET_LIMITS): number {
  if (given !== undefined && (!Number.isSafeInteger(given) || given < 1 || given > limits.maxClasses)) {
    throw new CoreError('INVALID_ARGUMENT', `classCount must be an integer in [1, ${limits.maxClasses}], got ${given}`, { classCount: given });
  }
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label < 0) throw labelsError(`label #${i} is ${label}: labels must be non-negative`, { index: i, label });
    if (label > max) max = label;
  }
  if (given !== undefined) {
    if (max >= given) {
      const index = labels.indexOf(max);
      throw labelsError(`label #${index} is ${max}, outside the ${given} classes [0, ${given - 1}]`, { index, label: max, classCount: given });
    }
    return given;
  }
  if (max + 1 > limits.maxClasses) {
    throw labelsError(`the largest label, ${max}, implies more than ${limits.maxClasses} classes`, { label: max, maxClasses: limits.maxClasses });
  }
  return max + 1;
}

/** How many examples each class has, indexed by class. */
export function classCounts(labels: Int32Array, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/** The examples `indices` (in that order) as a dataset of their own, with the same classes. */
export function selectExamples(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const [n, c, h, w] = dataset.shape;
  const size = c * h * w;
  const inputs = dataset.inputs instanceof Uint8Array ? new Uint8Array(indices.length * size) : new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new CoreError('INVALID_ARGUMENT', `example index ${index} is outside [0, ${n - 1}]`, { index });
    }
    inputs.set(dataset.inputs.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = dataset.labels[index];
  }
  return { ...dataset, shape: [indices.length, c, h, w], inputs, labels };
}
