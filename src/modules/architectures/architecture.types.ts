import type { GhnBuilderName, GhnGraphJson } from '../../core/graph/ghn';
import type { GraphJson } from '../../core/graph/graph-json';
import type { ValueInfo } from '../../core/graph/ir';

export const ARCHITECTURE_SOURCES = ['zoo', 'onnx', 'graph-json', 'ghn-graph'] as const;
export type ArchitectureSource = (typeof ARCHITECTURE_SOURCES)[number];

export const GHN_BUILDERS: readonly GhnBuilderName[] = ['ghn3', 'ppuda'];

/**
 * Counts and shapes stored with an architecture. Cost figures are null for a GHN-graph-only
 * architecture, whose op histogram counts GHN primitives (`conv`, `bn`, ...) instead of ONNX ops.
 */
export interface ArchitectureSummary {
  parameterCount: number | null;
  bufferCount: number | null;
  nodeCount: number;
  macs: number | null;
  flops: number | null;
  opHistogram: Record<string, number>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface Architecture {
  id: string;
  name: string;
  family: string | null;
  source: ArchitectureSource;
  executable: boolean;
  modelClass: string | null;
  contentHash: string;
  summary: ArchitectureSummary;
  createdAt: Date;
}

/** The stored graphs: the canonical one, or for a GHN-graph-only architecture its GHN graph. */
export interface ArchitectureGraphs {
  graph: GraphJson | null;
  ghnGraph: GhnGraphJson | null;
}

/** Everything needed to store a new architecture: the record without its generated fields, plus its graphs. */
export type NewArchitecture = Omit<Architecture, 'id' | 'createdAt'> & ArchitectureGraphs;

export interface ArchitectureFilter {
  name?: string;
  family?: string;
  source?: ArchitectureSource;
}
