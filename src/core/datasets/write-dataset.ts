import { serializeSafetensors, writeSafetensors, type SafetensorsWriteResult } from '../formats/safetensors';
import type { LazyTensor } from '../formats/tensor-set';
import { inputDtype, type Dataset } from './dataset';

/** `__metadata__` keys a dataset file may carry. */
export const CLASS_COUNT_KEY = 'class_count';
export const CLASS_NAMES_KEY = 'class_names';

/** Labels as PyTorch class indices: int64, little-endian. */
function labelBytes(labels: Int32Array): Uint8Array {
  const out = new BigInt64Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = BigInt(labels[i]);
  return new Uint8Array(out.buffer);
}

function inputBytes(dataset: Dataset): Uint8Array {
  const { inputs } = dataset;
  return new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength);
}

function datasetMetadata(dataset: Dataset, extra: Record<string, string>): Record<string, string> {
  return {
    ...extra,
    [CLASS_COUNT_KEY]: String(dataset.classCount),
    ...(dataset.classNames ? { [CLASS_NAMES_KEY]: JSON.stringify(dataset.classNames) } : {}),
  };
}

function tensor(name: string, dtype: LazyTensor['dtype'], shape: readonly number[], bytes: Uint8Array): LazyTensor {
  return {
    name,
    dtype,
    shape,
    async *chunks() {
      // Slices of at most 16 MiB, so that the writer's staging stays small.
      for (let offset = 0; offset < bytes.byteLength; offset += 1 << 24) yield bytes.subarray(offset, offset + (1 << 24));
    },
  };
}

function datasetTensors(dataset: Dataset): LazyTensor[] {
  return [
    tensor('inputs', inputDtype(dataset), dataset.shape, inputBytes(dataset)),
    tensor('labels', 'I64', [dataset.labels.length], labelBytes(dataset.labels)),
  ];
}

/**
 * Packs a dataset into a safetensors file that readDataset reads back unchanged: `inputs`
 * (F32 or U8, N×C×H×W), `labels` (I64, N) and metadata `class_count` (and `class_names` when
 * known). `out` as a path is written atomically.
 */
export function writeDataset(out: NodeJS.WritableStream | string, dataset: Dataset, metadata: Record<string, string> = {}): Promise<SafetensorsWriteResult> {
  return writeSafetensors(out, datasetTensors(dataset), datasetMetadata(dataset, metadata));
}

/** The same file in one buffer, for small datasets and tests. */
export function serializeDataset(dataset: Dataset, metadata: Record<string, string> = {}): Uint8Array {
  return serializeSafetensors(
    [
      { name: 'inputs', dtype: inputDtype(dataset), shape: dataset.shape, data: inputBytes(dataset) },
      { name: 'labels', dtype: 'I64', shape: [dataset.labels.length], data: labelBytes(dataset.labels) },
    ],
    datasetMetadata(dataset, metadata),
  );
}
