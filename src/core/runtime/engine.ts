import { CoreError } from '../errors';
import type { ArchitectureGraph } from '../graph/ir';
import type { EngineKind, InferenceEngine } from './engine-types';
import type { WeightLookup } from './weights';

export interface EngineOptions {
  /** onnxruntime: threads per op (default 2). */
  intraOpNumThreads?: number;
  /** tfjs: fold BatchNorm into convs and fuse activations (default true). */
  fuse?: boolean;
  /** tfjs: input-shape plans kept at once (default 4). */
  maxCachedPlans?: number;
  /** onnxruntime: weights above this many bytes load from an external data file (default 128 MiB). */
  maxEmbeddedBytes?: number;
  /** onnxruntime: where that file's temporary folder is made (default the OS temp folder). */
  tempDir?: string;
}

/**
 * An inference engine for `graph` with weights bound by state_dict name (exporter aliases resolve
 * through `aliasOf`). `tfjs` runs on whatever TF.js backend is active (set it before); its
 * weights live on that backend until dispose(). `onnxruntime` runs onnxruntime-node on the CPU.
 */
export async function createEngine(
  kind: EngineKind,
  graph: ArchitectureGraph,
  weights: WeightLookup,
  options: EngineOptions = {},
): Promise<InferenceEngine> {
  switch (kind) {
    case 'tfjs': {
      const { TfjsEngine } = await import('./tfjs/tfjs-engine');
      return TfjsEngine.create(graph, weights, options);
    }
    case 'onnxruntime': {
      const { OrtEngine } = await import('./ort-engine');
      return OrtEngine.create(graph, weights, options);
    }
    default:
      throw new CoreError('INVALID_ARGUMENT', `unknown engine kind '${String(kind)}' (expected 'tfjs' or 'onnxruntime')`);
  }
}
