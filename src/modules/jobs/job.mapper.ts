import type { JobDto } from './dto/job.dto';
import type { Job } from './job.types';

export function toJobDto(job: Job): JobDto {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    attempts: job.attempts,
    cancelRequested: job.cancelRequested,
    // Payloads and results are JSON objects (each job type validates its payload).
    payload: job.payload as Record<string, unknown>,
    result: (job.result ?? null) as Record<string, unknown> | null,
    error: job.error,
    checkpointId: job.checkpointId,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}
