import type { Writable } from 'node:stream';
import {
  builtinDatasetInfo,
  datasetStatistics,
  inputDtype,
  loadBuiltinDataset,
  readDataset,
  readImageFolderArchive,
  splitDataset,
  splitSizes,
  writeDataset,
  type Dataset,
} from '../../core/datasets';
import { CoreError } from '../../core/errors';
import { withFileSource, type RandomAccessSource } from '../../core/io/random-access';
import type { DatasetSource, DatasetSummary, SplitRule } from './dataset.types';

/** Image-folder archive options (the upload's `height`, `width`, `channels` fields). */
export interface ArchiveOptions {
  height: number;
  width: number;
  channels?: 1 | 3;
}

/** What the dataset worker reads: an uploaded file (spooled to scratch) or a builtin. */
export type DatasetIngestInput =
  | { kind: 'upload'; path: string; split: SplitRule; classCount?: number; archive?: ArchiveOptions }
  | { kind: 'builtin'; name: string; split: { seed: number; validation?: number; test?: number } };

/** The default fractions of an uploaded dataset (mnist's builtin ones). */
export const DEFAULT_UPLOAD_SPLIT = { validation: 0.1, test: 0.2 } as const;

/** A safetensors file starts with its header length (8 bytes, little-endian) and then `{`. */
async function looksLikeSafetensors(source: RandomAccessSource): Promise<boolean> {
  if (source.size < 10) return false;
  const head = await source.read(0, 9);
  const length = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return head[8] === 0x7b && length > 1n && length <= BigInt(source.size - 8);
}

async function readUpload(input: Extract<DatasetIngestInput, { kind: 'upload' }>): Promise<{ dataset: Dataset; source: DatasetSource }> {
  return withFileSource(input.path, async (file) => {
    if (await looksLikeSafetensors(file)) {
      if (input.archive) throw new CoreError('INVALID_ARGUMENT', 'height, width and channels apply to image-folder archives, not to a safetensors dataset file');
      return { dataset: await readDataset(file, { classCount: input.classCount }), source: 'upload-safetensors' };
    }
    if (!input.archive) {
      throw new CoreError('INVALID_ARGUMENT', 'the file is not a safetensors dataset; an image-folder archive (zip, tar, tar.gz) needs the fields height and width');
    }
    if (input.classCount !== undefined) throw new CoreError('INVALID_ARGUMENT', 'classCount applies to safetensors dataset files: an archive has one class per folder');
    return { dataset: await readImageFolderArchive(file, input.archive), source: 'upload-archive' };
  });
}

/**
 * Reads, validates and summarizes a dataset, and streams it to `output` as a dataset safetensors
 * file (writeDataset: inputs as given, I64 labels, class count and names in the metadata). Splits
 * follow the rule; normalization is the training split's per-channel mean and population std (a
 * channel of constant value gets std 1, so that normalizing never divides by zero).
 */
export async function ingestDataset(input: DatasetIngestInput, output: Writable): Promise<DatasetSummary> {
  let dataset: Dataset;
  let source: DatasetSource;
  let split: SplitRule;
  if (input.kind === 'builtin') {
    const info = builtinDatasetInfo(input.name);
    dataset = await loadBuiltinDataset(info.name);
    source = `builtin:${info.name}` as DatasetSource;
    split = { seed: input.split.seed, validation: input.split.validation ?? info.defaultSplit.validation, test: input.split.test ?? info.defaultSplit.test };
  } else {
    ({ dataset, source } = await readUpload(input));
    split = input.split;
  }
  const splits = splitDataset(dataset.labels, dataset.classCount, split);
  if (splits.train.length === 0) throw new CoreError('DATASET_EMPTY', 'the training split is empty: lower the validation and test fractions or add examples');
  const stats = datasetStatistics(dataset, splits.train);
  await writeDataset(output, dataset);
  return {
    source,
    shape: [...dataset.shape],
    inputDtype: inputDtype(dataset),
    classCount: dataset.classCount,
    classNames: dataset.classNames ? [...dataset.classNames] : null,
    normalization: { mean: stats.mean, std: stats.std.map((s) => (s > 0 ? s : 1)) },
    split,
    splitSizes: splitSizes(splits),
  };
}
