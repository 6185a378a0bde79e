import type { Architecture } from './architecture.types';
import type { ArchitectureDto } from './dto/architecture.dto';

export function toArchitectureDto(a: Architecture): ArchitectureDto {
  const s = a.summary;
  return {
    id: a.id,
    name: a.name,
    family: a.family,
    source: a.source,
    executable: a.executable,
    modelClass: a.modelClass,
    parameterCount: s.parameterCount,
    bufferCount: s.bufferCount,
    nodeCount: s.nodeCount,
    macs: s.macs,
    flops: s.flops,
    opHistogram: { ...s.opHistogram },
    inputs: s.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] })),
    outputs: s.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] })),
    contentHash: a.contentHash,
    createdAt: a.createdAt.toISOString(),
  };
}
