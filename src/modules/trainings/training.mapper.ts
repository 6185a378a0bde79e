import type { TrainingDto } from './dto/training.dto';
import type { TrainingView } from './training.types';

export function toTrainingDto(view: TrainingView): TrainingDto {
  const t = view.training;
  const { training, ...schedule } = t.settings;
  return {
    id: t.id,
    name: t.name,
    status: view.status,
    architectureId: t.architectureId,
    startCheckpointId: t.startCheckpointId,
    initializationId: t.initializationId,
    datasetId: t.datasetId,
    config: { ...training, ...schedule } as unknown as Record<string, unknown>,
    jobId: t.jobId,
    progress: t.progress,
    curve: t.curve,
    checkpointIds: t.savedCheckpointIds,
    resultCheckpointId: view.status === 'succeeded' ? (t.savedCheckpointIds.at(-1) ?? null) : null,
    error: view.error,
    createdAt: t.createdAt.toISOString(),
  };
}
