import type { PopulationDto } from './dto/population.dto';
import type { PopulationView } from './population.types';

export function toPopulationDto(view: PopulationView): PopulationDto {
  const p = view.population;
  return {
    id: p.id,
    name: p.name,
    mode: p.mode,
    size: p.size,
    variant: p.variant,
    alpha: p.alpha,
    every: p.every,
    seed: p.seed,
    staleAfterSeconds: p.staleAfterSeconds,
    architectureId: p.architectureId,
    version: p.version,
    layout: p.layout,
    members: view.members.map((m) => ({ k: m.k, step: m.step, version: m.version, sha256: m.sha256, sizeBytes: m.sizeBytes, pushedAt: m.pushedAt.toISOString(), active: m.active })),
    warnings: view.warnings,
    createdAt: p.createdAt.toISOString(),
  };
}
