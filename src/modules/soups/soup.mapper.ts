import type { SoupDto } from './dto/soup.dto';
import type { SoupView } from './soup.types';

export function toSoupDto({ soup: s, status, progress, error }: SoupView): SoupDto {
  return {
    id: s.id,
    name: s.name,
    method: s.method,
    status,
    progress,
    checkpointIds: [...s.checkpointIds],
    baseCheckpointId: s.baseCheckpointId,
    parameters: s.parameters,
    recipe: { ...s.recipe },
    datasetId: s.datasetId,
    split: s.split,
    batchNormRequested: s.batchNormRequested,
    batchNorm: s.batchNormUsed,
    options: { ...s.options },
    report: s.report,
    jobId: s.jobId,
    resultCheckpointId: s.resultCheckpointId,
    error,
    createdAt: s.createdAt.toISOString(),
  };
}
