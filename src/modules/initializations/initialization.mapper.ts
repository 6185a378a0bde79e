import type { InitializationDto } from './dto/initialization.dto';
import type { InitializationView } from './initialization.types';

export function toInitializationDto(view: InitializationView): InitializationDto {
  const i = view.initialization;
  return {
    id: i.id,
    status: view.status,
    cached: view.cached,
    architectureId: i.architectureId,
    method: i.method,
    ghnId: i.ghnId,
    options: { seed: i.options.seed, batchNorm: i.options.batchNorm },
    checkpointId: i.checkpointId,
    jobId: i.jobId,
    error: view.error,
    createdAt: i.createdAt.toISOString(),
  };
}
