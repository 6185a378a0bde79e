import type { Deployment } from './deployment.types';
import type { DeploymentDto } from './dto/deployment.dto';
import { tensorMetadata } from './inference.service';

export function toDeploymentDto(d: Deployment, queueDepth: number): DeploymentDto {
  return {
    name: d.name,
    version: d.version,
    state: 'ready',
    checkpointId: d.checkpointId,
    architectureId: d.architectureId,
    engine: d.engine,
    engineName: d.engineName,
    backend: d.backend,
    ...d.batching,
    batchable: d.signature.batchable,
    inputs: d.signature.inputs.map(tensorMetadata),
    outputs: d.signature.outputs.map(tensorMetadata),
    queueDepth,
    loadMs: d.loadMs,
    inferPath: `/v2/models/${encodeURIComponent(d.name)}/infer`,
    createdAt: d.createdAt.toISOString(),
  };
}
