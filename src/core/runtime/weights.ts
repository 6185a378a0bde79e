import { CoreError } from '../errors';
import { readOnnxTensors } from '../formats/onnx/onnx-tensors';
import { readAll, type TensorSet } from '../formats/tensor-set';
import type { ArchitectureGraph, Initializer } from '../graph/ir';
import { numElements } from '../tensor/dtypes';
import type { TensorBytes } from './host-tensor';

/** Checkpoint tensors by state_dict name: a Map or a lookup function. */
export type WeightLookup = ReadonlyMap<string, TensorBytes> | ((name: string) => TensorBytes | undefined);

/** The initializers that some node reads, in graph order (unused buffers such as num_batches_tracked are left out). */
export function usedInitializers(graph: ArchitectureGraph): Initializer[] {
  const used = new Set<string>();
  for (const node of graph.nodes) for (const input of node.inputs) used.add(input);
  for (const output of graph.outputs) used.add(output.name);
  return graph.initializers.filter((i) => used.has(i.name));
}

/**
 * The bytes bound to an initializer: looked up by its state_dict name, else (for an exporter alias)
 * by `aliasOf`. Fails with TENSOR_NOT_FOUND when absent and INVALID_ARGUMENT when the shape or the
 * dtype family differs (a float checkpoint may bind a float initializer of another width).
 */
export function bindWeight(init: Initializer, weights: WeightLookup): TensorBytes {
  const lookup = typeof weights === 'function' ? weights : (name: string) => weights.get(name);
  const found = lookup(init.name) ?? (init.aliasOf !== undefined ? lookup(init.aliasOf) : undefined);
  if (!found) {
    const alias = init.aliasOf ? ` (nor under its alias '${init.aliasOf}')` : '';
    throw new CoreError('TENSOR_NOT_FOUND', `the weights have no tensor '${init.name}'${alias}`, { tensor: init.name });
  }
  const sameShape = found.shape.length === init.shape.length && found.shape.every((d, i) => d === init.shape[i]);
  if (!sameShape && !(numElements(found.shape) === 1 && numElements(init.shape) === 1)) {
    throw new CoreError(
      'INVALID_ARGUMENT',
      `weight '${init.name}' has shape [${found.shape.join(', ')}], the graph expects [${init.shape.join(', ')}]`,
      { tensor: init.name },
    );
  }
  const isFloat = (d: string): boolean => d.startsWith('F') || d === 'BF16';
  if (found.dtype !== init.dtype && isFloat(found.dtype) !== isFloat(init.dtype)) {
    throw new CoreError('INVALID_ARGUMENT', `weight '${init.name}' is ${found.dtype}, the graph expects ${init.dtype}`, {
      tensor: init.name,
    });
  }
  return { dtype: found.dtype, shape: init.shape, data: found.data };
}

/** Reads the tensors of a checkpoint (all, or those named) into memory. */
export async function tensorSetWeights(set: TensorSet, names?: ReadonlySet<string>): Promise<Map<string, TensorBytes>> {
  const out = new Map<string, TensorBytes>();
  for (const t of set.tensors) {
    if (names && !names.has(t.name)) continue;
    out.set(t.name, { dtype: t.dtype, shape: [...t.shape], data: await readAll(t) });
  }
  return out;
}

/** The initializers embedded in an ONNX model (e.g. the GHN runs' predicted parameters). */
export async function onnxEmbeddedWeights(onnxBytes: Uint8Array): Promise<Map<string, TensorBytes>> {
  return tensorSetWeights(await readOnnxTensors(onnxBytes));
}
