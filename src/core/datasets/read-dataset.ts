import { CoreError } from '../errors';
import { readSafetensorsHeader, readTensorBytes, type SafetensorsTensorInfo } from '../formats/safetensors';
import type { RandomAccessSource } from '../io/random-access';
import { datasetError, DEFAULT_DATASET_LIMITS, labelsError, resolveClassCount, type Dataset, type DatasetLimits } from './dataset';
import { CLASS_COUNT_KEY, CLASS_NAMES_KEY } from './write-dataset';

export interface ReadDatasetOptions {
  /** The number of classes; every label must be below it. Default: the file's, else max label + 1. */
  classCount?: number;
  limits?: Partial<DatasetLimits>;
}

/** A dataset file's header is two small entries plus optional class names. */
const MAX_HEADER_BYTES = 1024 * 1024;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function findTensors(tensors: SafetensorsTensorInfo[]): { inputs: SafetensorsTensorInfo; labels: SafetensorsTensorInfo } {
  const names = tensors.map((t) => t.name);
  const unexpected = names.filter((n) => n !== 'inputs' && n !== 'labels');
  const missing = ['inputs', 'labels'].filter((n) => !names.includes(n));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [missing.length > 0 ? `missing ${missing.map((n) => `"${n}"`).join(' and ')}` : '', unexpected.length > 0 ? `unexpected ${unexpected.slice(0, 5).map((n) => JSON.stringify(n)).join(', ')}` : ''];
    throw datasetError(`a dataset file holds exactly two tensors, "inputs" and "labels": ${parts.filter(Boolean).join('; ')}`, {
      missing,
      unexpected: unexpected.slice(0, 20),
    });
  }
  const byName = (name: string) => tensors.find((t) => t.name === name) as SafetensorsTensorInfo;
  return { inputs: byName('inputs'), labels: byName('labels') };
}

/** Checks dtypes, ranks, sizes and limits from the header alone; returns N, C, H, W. */
function checkLayout(inputs: SafetensorsTensorInfo, labels: SafetensorsTensorInfo, limits: DatasetLimits): [number, number, number, number] {
  if (inputs.dtype !== 'F32' && inputs.dtype !== 'U8') {
    throw datasetError(`"inputs" must be F32 or U8, got ${inputs.dtype}`, { tensor: 'inputs', dtype: inputs.dtype });
  }
  if (inputs.shape.length !== 4) {
    throw datasetError(`"inputs" must be N×C×H×W (rank 4), got shape ${shapeText(inputs.shape)}`, { tensor: 'inputs', shape: inputs.shape });
  }
  if (labels.shape.length !== 1) {
    throw labelsError(`"labels" must be a vector of N class indices (rank 1), got shape ${shapeText(labels.shape)}`, { tensor: 'labels', shape: labels.shape });
  }
  if (labels.dtype !== 'I64' && labels.dtype !== 'I32' && labels.dtype !== 'U8') {
    throw labelsError(`"labels" must hold integers (I64, I32 or U8), got ${labels.dtype}`, { tensor: 'labels', dtype: labels.dtype });
  }
  const [n, c, h, w] = inputs.shape as [number, number, number, number];
  if (n !== labels.shape[0]) {
    throw datasetError(`"inputs" has ${n} examples but "labels" has ${labels.shape[0]}`, { inputs: n, labels: labels.shape[0] });
  }
  if (n === 0) throw new CoreError('DATASET_EMPTY', 'the dataset has no examples (N = 0)');
  if (c < 1 || h < 1 || w < 1) throw datasetError(`"inputs" has an empty image shape ${shapeText(inputs.shape)}`, { shape: inputs.shape });
  if (c > limits.maxChannels) throw datasetError(`"inputs" has ${c} channels, over the limit of ${limits.maxChannels}`, { channels: c, maxChannels: limits.maxChannels });
  if (h > limits.maxSide || w > limits.maxSide) {
    throw datasetError(`"inputs" images are ${h}×${w}, over the limit of ${limits.maxSide} per side`, { height: h, width: w, maxSide: limits.maxSide });
  }
  if (inputs.byteLength > limits.maxInputBytes) {
    throw new CoreError('DATASET_TOO_LARGE', `"inputs" takes ${inputs.byteLength} bytes, over the limit of ${limits.maxInputBytes}`, {
      inputBytes: inputs.byteLength,
      maxInputBytes: limits.maxInputBytes,
    });
  }
  return [n, c, h, w];
}

/** Copies little-endian bytes into a fresh, aligned buffer. */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

function decodeInputs(info: SafetensorsTensorInfo, bytes: Uint8Array): Float32Array | Uint8Array {
  if (info.dtype === 'U8') return new Uint8Array(alignedCopy(bytes));
  const values = new Float32Array(alignedCopy(bytes));
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw datasetError(`"inputs" element #${i} is ${values[i]}: inputs must be finite`, { index: i, value: String(values[i]) });
    }
  }
  return values;
}

function negative(index: number, label: number | bigint): CoreError {
  return labelsError(`label #${index} is ${label}: labels must be non-negative`, { index, label: String(label) });
}

function decodeLabels(info: SafetensorsTensorInfo, bytes: Uint8Array, maxClasses: number): Int32Array {
  const n = info.shape[0];
  if (info.dtype === 'U8') return Int32Array.from(bytes);
  if (info.dtype === 'I32') return new Int32Array(alignedCopy(bytes));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const low = view.getUint32(8 * i, true);
    const high = view.getInt32(8 * i + 4, true);
    if (high < 0) throw negative(i, view.getBigInt64(8 * i, true));
    if (high > 0 || low >= maxClasses) {
      const label = view.getBigInt64(8 * i, true);
      throw labelsError(`label #${i} is ${label}, over the limit of ${maxClasses} classes`, { index: i, label: String(label), maxClasses });
    }
    out[i] = low;
  }
  return out;
}

function metadataClassCount(metadata: Record<string, string> | null): number | undefined {
  const text = metadata?.[CLASS_COUNT_KEY];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw datasetError(`metadata "${CLASS_COUNT_KEY}" must be a positive integer, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return value;
}

function metadataClassNames(metadata: Record<string, string> | null, classCount: number): string[] | undefined {
  const text = metadata?.[CLASS_NAMES_KEY];
  if (text === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    throw datasetError(`metadata "${CLASS_NAMES_KEY}" must be a JSON array of strings`);
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string') || names.length !== classCount) {
    throw datasetError(`metadata "${CLASS_NAMES_KEY}" must be a JSON array of ${classCount} strings (one per class)`, { classCount });
  }
  return names as string[];
}

/**
 * Reads and validates a dataset safetensors file: exactly `inputs` (N×C×H×W, F32 or U8) and
 * `labels` (N, I64/I32/U8), N ≥ 1, finite float inputs, labels in [0, classCount). Shapes and
 * sizes are checked from the header before any data is read. Optional `__metadata__` entries
 * `class_count` and `class_names` (a JSON array) are honoured; an explicit `classCount` wins.
 */
export async function readDataset(source: RandomAccessSource, opts: ReadDatasetOptions = {}): Promise<Dataset> {
  const limits = { ...DEFAULT_DATASET_LIMITS, ...opts.limits };
  const header = await readSafetensorsHeader(source, { maxHeaderBytes: MAX_HEADER_BYTES });
  const { inputs, labels } = findTensors(header.tensors);
  const shape = checkLayout(inputs, labels, limits);
  const labelValues = decodeLabels(labels, await readTensorBytes(source, labels), limits.maxClasses);
  const classCount = resolveClassCount(labelValues, opts.classCount ?? metadataClassCount(header.metadata), limits);
  const classNames = metadataClassNames(header.metadata, classCount);
  const inputValues = decodeInputs(inputs, await readTensorBytes(source, inputs));
  return { shape, inputs: inputValues, labels: labelValues, classCount, ...(classNames ? { classNames } : {}) };
}
