import type { ArchitectureGraph, AttributeValue, GraphNode, Initializer } from './ir';

/** Small hand-written graphs for the graph specs. */

export function op(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, AttributeValue> = {},
  name = `/${outputs[0]}/${opType}`,
): GraphNode {
  return { name, opType, inputs, outputs, attributes };
}

export function param(name: string, shape: number[], isParameter = true): Initializer {
  return { name, dtype: 'F32', shape, isParameter };
}

/**
 * input [batch, 3, 8, 8] → Conv 3→4 (3×3, pad 1) → BatchNorm → Relu → GlobalAveragePool → Flatten
 * → Gemm 4→2 → logits.
 */
export function tinyCnn(): ArchitectureGraph {
  return {
    name: 'tiny',
    modelClass: 'Tiny',
    opset: 17,
    inputs: [{ name: 'input', dtype: 'F32', shape: ['batch', 3, 8, 8] }],
    outputs: [{ name: 'logits', dtype: 'F32', shape: ['batch', 2] }],
    initializers: [
      param('conv.weight', [4, 3, 3, 3]),
      param('conv.bias', [4]),
      param('bn.weight', [4]),
      param('bn.bias', [4]),
      param('bn.running_mean', [4], false),
      param('bn.running_var', [4], false),
      { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], isParameter: false },
      param('fc.weight', [2, 4]),
      param('fc.bias', [2]),
    ],
    nodes: [
      op('Conv', ['input', 'conv.weight', 'conv.bias'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, '/conv/Conv'),
      op('BatchNormalization', ['c', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], ['b'], { epsilon: 1e-5 }, '/bn/BatchNormalization'),
      op('Relu', ['b'], ['r'], {}, '/relu/Relu'),
      op('GlobalAveragePool', ['r'], ['p'], {}, '/pool/GlobalAveragePool'),
      op('Flatten', ['p'], ['f'], { axis: 1 }, '/Flatten'),
      op('Gemm', ['f', 'fc.weight', 'fc.bias'], ['logits'], { alpha: 1, beta: 1, transB: 1 }, '/fc/Gemm'),
    ],
    valueInfo: [
      { name: 'c', dtype: 'F32', shape: ['batch', 4, 8, 8] },
      { name: 'b', dtype: 'F32', shape: ['batch', 4, 8, 8] },
      { name: 'r', dtype: 'F32', shape: ['batch', 4, 8, 8] },
      { name: 'p', dtype: 'F32', shape: ['batch', 4, 1, 1] },
      { name: 'f', dtype: 'F32', shape: ['batch', 4] },
    ],
  };
}

/** A deep copy, so that a spec can mutate a graph freely. */
export function cloneGraph(g: ArchitectureGraph): ArchitectureGraph {
  return structuredClone(g);
}
