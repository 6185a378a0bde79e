import type { GhnImpl } from '../../core/ghn';
import type { GhnBuilderName } from '../../core/graph/ghn';

/** Checkpoint kind of a GHN's weights. */
export const GHN_CHECKPOINT_KIND = 'ghn';

/** `upload`: POST /v1/ghns; `fetch`: an official checkpoint downloaded with its checksum checked. */
export const GHN_SOURCES = ['upload', 'fetch'] as const;
export type GhnSource = (typeof GHN_SOURCES)[number];

/**
 * A GHN config in the fixtures' `ghn/<cfg>.json` layout: `impl` picks the forward
 * pass, `graph_builder` the graph builder, `ctor_config` holds the official constructor's arguments.
 */
export interface GhnConfigDocument {
  impl: GhnImpl;
  graph_builder: GhnBuilderName;
  ctor_config: Record<string, unknown>;
}

export interface GhnModel {
  id: string;
  name: string;
  /** The checkpoint (kind `ghn`) holding the weights as safetensors, with their state_dict names. */
  checkpointId: string;
  config: GhnConfigDocument;
  source: GhnSource;
  /** sha256 of the file as uploaded or fetched (before conversion to safetensors). */
  sourceSha256: string;
  /** Elements over all weight tensors. */
  parameterCount: number;
  createdAt: Date;
}

export interface NewGhnModel {
  name: string;
  checkpointId: string;
  config: GhnConfigDocument;
  source: GhnSource;
  sourceSha256: string;
}

export interface GhnFilter {
  name?: string;
}
