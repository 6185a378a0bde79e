import { CoreError } from '../../errors';
import type { ArchitectureGraph } from '../ir';
import { ghnEdges, ghnNodes } from './ghn-features';
import { DEFAULT_VE_CUTOFF, type GhnBuilderName, type GhnGraph } from './ghn-graph';
import { ghn3Order } from './ghn3-builder';
import { detectModelClass, VISION_TRANSFORMER } from './model-class';
import { assignParamRoles } from './param-roles';
import { collectParams } from './param-table';
import { ppudaOrder } from './ppuda-builder';
import { inferValueRanks } from './value-ranks';
import { buildWalkGraph } from './walk-graph';

export interface BuildGhnGraphOptions {
  builder: GhnBuilderName;
  /** Longest shortest path kept as a (virtual) edge: 50 for GHNs with `ve`, 1 otherwise. */
  veCutoff?: number;
  /** Trainable parameter names, when known; otherwise initializers' `isParameter` decides. */
  trainableNames?: string[];
}

/** The input size the official code assumes when a model does not declare one. */
const DEFAULT_INPUT_SIZE = [3, 224, 224];

/**
 * Builds the GHN graph of an architecture by the rules of the official builders (ppuda's and ghn3's graph.py):
 * `ghn3` (GHN-3 and GHN-2-mode GHN3 models) or `ppuda` (the original GHN-2 code). Throws
 * CoreError('GHN_GRAPH_UNSUPPORTED') where the official builder fails (ppuda on ViTs, shared
 * weights or several input-less nodes; an unexpected SqueezeNet head).
 */
export function buildGhnGraph(graph: ArchitectureGraph, opts: BuildGhnGraphOptions): GhnGraph {
  const builder = opts.builder;
  if (builder !== 'ghn3' && builder !== 'ppuda') {
    throw new CoreError('INVALID_ARGUMENT', `unknown GHN graph builder '${String(builder)}' (ghn3 or ppuda)`);
  }
  const veCutoff = opts.veCutoff ?? DEFAULT_VE_CUTOFF;
  if (!Number.isInteger(veCutoff) || veCutoff < 1) {
    throw new CoreError('INVALID_ARGUMENT', `veCutoff must be a positive integer, got ${veCutoff}`);
  }
  const modelClass = graph.modelClass ?? detectModelClass(graph.initializers.map((i) => i.name));
  if (builder === 'ppuda' && modelClass === VISION_TRANSFORMER) {
    throw new CoreError(
      'GHN_GRAPH_UNSUPPORTED',
      'the ppuda graph builder does not support torchvision VisionTransformer (as the official GHN-2 code)',
      { modelClass },
    );
  }

  const params = collectParams(graph, opts.trainableNames);
  const roles = assignParamRoles(graph, params.shapes, inferValueRanks(graph));
  const walk = buildWalkGraph(graph, params, roles, builder);
  if (walk.nodes.length === 0) {
    throw new CoreError('GHN_GRAPH_UNSUPPORTED', 'the graph has no trainable parameters on a path to its output');
  }
  const ordered = builder === 'ghn3' ? ghn3Order(walk, modelClass) : ppudaOrder(walk);
  return {
    arch: graph.name,
    builder,
    veCutoff,
    expectedInputSz: expectedInputSize(graph),
    nCells: 1,
    nodes: ghnNodes(ordered.nodes, builder),
    edges: ghnEdges(ordered.graph, veCutoff),
  };
}

function expectedInputSize(graph: ArchitectureGraph): number[] {
  const dims = graph.inputs[0]?.shape.slice(1) ?? [];
  return dims.length > 0 && dims.every((d) => typeof d === 'number') ? (dims as number[]) : [...DEFAULT_INPUT_SIZE];
}
