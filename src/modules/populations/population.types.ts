import type { PopulationVariant, TensorLayoutEntry } from '../../core/averaging/population-pull';

/** `coordinated`: members train elsewhere and push their weights; `trained` is reserved for members trained here. */
export type PopulationMode = 'coordinated' | 'trained';

export interface PopulationRecord {
  id: string;
  name: string;
  mode: PopulationMode;
  size: number;
  variant: PopulationVariant;
  alpha: number | null;
  every: number;
  seed: number;
  staleAfterSeconds: number;
  architectureId: string | null;
  layout: TensorLayoutEntry[] | null;
  version: number;
  createdAt: Date;
}

export interface NewPopulation {
  name: string;
  mode: PopulationMode;
  size: number;
  variant: PopulationVariant;
  alpha: number | null;
  every: number;
  seed: number;
  staleAfterSeconds: number;
  architectureId: string | null;
}

/** A member's latest push. */
export interface PopulationMemberRecord {
  k: number;
  step: number;
  version: number;
  sha256: string;
  sizeBytes: number;
  pushedAt: Date;
}

/** The member versions one pull or average reads, held until `release`. */
export interface PopulationSnapshot {
  readId: string;
  /** Active members (pushed within staleAfterSeconds), by k. */
  members: PopulationMemberRecord[];
}

export interface PopulationView {
  population: PopulationRecord;
  members: (PopulationMemberRecord & { active: boolean })[];
  warnings: string[];
}
