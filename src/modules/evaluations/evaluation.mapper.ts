import type { EvaluationView } from './evaluation.types';
import type { EvaluationDto } from './dto/evaluation.dto';

export function toEvaluationDto({ evaluation: e, status, progress, error }: EvaluationView): EvaluationDto {
  return {
    id: e.id,
    datasetId: e.datasetId,
    split: e.split,
    batchNorm: e.batchNorm,
    options: { ...e.options },
    checkpointIds: [...e.checkpointIds],
    status,
    progress,
    error,
    jobId: e.jobId,
    results: e.results.map((r) => ({ checkpointId: r.checkpointId, top1: r.top1, top5: r.top5, loss: r.loss, count: r.count })),
    createdAt: e.createdAt.toISOString(),
  };
}
