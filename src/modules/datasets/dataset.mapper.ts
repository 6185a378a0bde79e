import type { DatasetRecord } from './dataset.types';
import type { DatasetDto } from './dto/dataset.dto';

export function toDatasetDto(d: DatasetRecord): DatasetDto {
  return {
    id: d.id,
    name: d.name,
    source: d.source,
    shape: [...d.shape],
    inputDtype: d.inputDtype,
    classCount: d.classCount,
    classNames: d.classNames,
    normalization: { mean: [...d.normalization.mean], std: [...d.normalization.std] },
    splits: { seed: d.split.seed, validation: d.split.validation, test: d.split.test, sizes: { ...d.splitSizes } },
    blob: { sha256: d.sha256, sizeBytes: d.sizeBytes },
    createdAt: d.createdAt.toISOString(),
  };
}
