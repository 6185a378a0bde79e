import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import type { LazyTensor } from '../formats/tensor-set';
import type { Ghn } from '../ghn/ghn';
import { paramShapesFromGraph } from '../ghn/param-matching';
import { predictParameters } from '../ghn/predict-parameters';
import type { GhnGraph } from '../graph/ghn/ghn-graph';
import type { ArchitectureGraph } from '../graph/ir';
import { classifiedTensors, initializeTensor, lazyTensor, type BatchNormPolicy } from './initialize-parameters';
import { checkSeed } from './seeded-random';
import { encodeFloats } from './tensor-bytes';
import { readFloat32Tensors } from '../tensor/read-tensors';

export interface GhnInitializationOptions {
  seed: number;
  /** Only `fresh` exists: BatchNorm statistics mean 0, var 1, count 0. */
  batchNorm?: BatchNormPolicy;
}

export interface GhnInitialization {
  /** Every state_dict entry in state_dict order; only the predicted tensors when `predictedOnly`. */
  tensors: LazyTensor[];
  /** Parameters the GHN predicted. */
  predicted: string[];
  /** Parameters it does not predict (e.g. ViT class_token, ConvNeXt layer_scale): torch-default values. */
  notPredicted: string[];
  /** Buffers, set by the BatchNorm policy (running_mean 0, running_var 1, num_batches_tracked 0). */
  buffers: string[];
  /** True without a canonical graph (a GHN-graph-only architecture): the file holds predictions only. */
  predictedOnly: boolean;
}

/**
 * A GHN's prediction made loadable with `load_state_dict(strict=True)`: predicted parameters
 * (float32, stored in each entry's dtype), every parameter the GHN does not predict at its
 * torch-default value, and buffers by the BatchNorm policy. GHNs never predict running statistics:
 * they are set to mean 0 / var 1 / count 0, which matches a freshly constructed torch model; to
 * evaluate in eval mode, recalibrate BatchNorm on data or use train-mode BatchNorm (the official
 * "no training" accuracies use batch statistics). Random values (the ViT class-token row of
 * pos_embedding, torch-default fills) come from `seed`. The GHN's tensors are read back and
 * disposed before this returns: no tf tensor outlives the call.
 */
export async function predictInitialization(
  ghn: Ghn,
  ghnGraph: GhnGraph,
  graph: ArchitectureGraph | null,
  options: GhnInitializationOptions,
): Promise<GhnInitialization> {
  const seed = checkSeed(options.seed);
  if (options.batchNorm !== undefined && options.batchNorm !== 'fresh') {
    throw new CoreError('INVALID_ARGUMENT', `unknown batchNorm policy '${String(options.batchNorm)}' (only 'fresh')`);
  }
  const classified = graph ? classifiedTensors(graph) : null;
  const paramShapes = classified
    ? new Map(classified.filter((t) => t.init.isParameter).map((t) => [t.init.name, t.init.shape]))
    : paramShapesFromGraph(ghnGraph);
  const predicted = await readPrediction(ghn, ghnGraph, paramShapes, seed);
  if (!classified) {
    const order = [...paramShapes.keys(), ...predicted.keys()].filter((name, i, all) => predicted.has(name) && all.indexOf(name) === i);
    return {
      tensors: order.map((name) => {
        const p = predicted.get(name) as PredictedValues;
        return lazyTensor(name, 'F32', p.shape, () => encodeFloats('F32', p.values));
      }),
      predicted: order,
      notPredicted: [...paramShapes.keys()].filter((name) => !predicted.has(name)),
      buffers: [],
      predictedOnly: true,
    };
  }
  const notPredicted: string[] = [];
  const buffers: string[] = [];
  const tensors = classified.map((t) => {
    const { name, dtype, shape } = t.init;
    const p = predicted.get(name);
    if (p) {
      if (p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i])) {
        throw new CoreError('GHN_UNSUPPORTED', `the GHN predicted '${name}' as [${p.shape.join(', ')}], the architecture has [${shape.join(', ')}]`, { name });
      }
      return lazyTensor(name, dtype, shape, () => encodeFloats(dtype, p.values));
    }
    (t.init.isParameter ? notPredicted : buffers).push(name);
    return lazyTensor(name, dtype, shape, () => initializeTensor(t, 'torch-default', seed).data);
  });
  return { tensors, predicted: classified.filter((t) => predicted.has(t.init.name)).map((t) => t.init.name), notPredicted, buffers, predictedOnly: false };
}

interface PredictedValues {
  shape: number[];
  values: Float32Array;
}

async function readPrediction(
  ghn: Ghn,
  ghnGraph: GhnGraph,
  paramShapes: ReadonlyMap<string, readonly number[]>,
  seed: number,
): Promise<Map<string, PredictedValues>> {
  const { params } = predictParameters(ghn, ghnGraph, { paramShapes, seed });
  try {
    const out = new Map<string, PredictedValues>();
    const entries = [...params];
    const values = await readFloat32Tensors(entries.map(([, t]) => t));
    entries.forEach(([name, t], i) => out.set(name, { shape: [...t.shape], values: values[i] }));
    return out;
  } finally {
    tf.dispose([...params.values()]);
  }
}

/** The safetensors `__metadata__` of an initialization: the same strings from the CLI and the server. */
export interface InitializationMetadataInput {
  method: string;
  seed: number;
  batchNorm: BatchNormPolicy;
  /** sha256 of the GHN file (as uploaded or given to the CLI); method ghn only. */
  ghnSha256?: string;
  notPredicted?: readonly string[];
  predictedOnly?: boolean;
}

export function initializationMetadata(input: InitializationMetadataInput): Record<string, string> {
  return {
    format: 'pt',
    producer: 'weightsmith',
    kind: 'initialization',
    method: input.method,
    seed: String(input.seed),
    batch_norm: input.batchNorm,
    batch_norm_statistics: 'running_mean=0 running_var=1 num_batches_tracked=0 (not predicted)',
    ...(input.ghnSha256 !== undefined ? { ghn_sha256: input.ghnSha256 } : {}),
    ...(input.notPredicted !== undefined ? { not_predicted: JSON.stringify(input.notPredicted) } : {}),
    ...(input.predictedOnly !== undefined ? { predicted_only: String(input.predictedOnly) } : {}),
  };
}
