import type { Checkpoint } from './checkpoint.types';
import type { CheckpointDetailDto, CheckpointDto } from './dto/checkpoint.dto';

export function toCheckpointDto(c: Checkpoint): CheckpointDto {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    format: c.format,
    originalFormat: c.originalFormat,
    sha256: c.sha256,
    sizeBytes: c.sizeBytes,
    architectureId: c.architectureId,
    tensorCount: c.tensorCount,
    parameterCount: c.parameterCount,
    tags: c.tags,
    metrics: c.metrics,
    metricsSource: c.metricsSource,
    metadata: c.metadata,
    parentIds: c.parentIds,
    createdAt: c.createdAt.toISOString(),
  };
}

export function toCheckpointDetailDto(c: Checkpoint): CheckpointDetailDto {
  return { ...toCheckpointDto(c), tensors: c.manifest.map((t) => ({ ...t, shape: [...t.shape] })) };
}
