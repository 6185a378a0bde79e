import type { ArchitectureGraph, AttributeValue, GraphNode } from '../../graph/ir';
import type { Dtype } from '../../tensor/dtypes';
import { numElements } from '../../tensor/dtypes';
import { encodeConstantValues } from '../ir-to-onnx';
import type { HostTensor, TensorBytes } from '../host-tensor';
import { seededInput } from './runtime-testing';

/** A small graph for checking kernels against onnxruntime: random inputs, random or given constants. */
export interface OpCase {
  graph: ArchitectureGraph;
  weights: Map<string, TensorBytes>;
  inputs: Record<string, HostTensor>;
}

export interface ConstSpec {
  shape: number[];
  values?: number[];
  dtype?: Dtype;
  /** Random values made positive (e.g. variances). */
  positive?: boolean;
}

export function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}): GraphNode {
  return { name: `${opType}_${outputs[0]}`, opType, inputs, outputs, attributes };
}

/** `inputs`: graph inputs (random float32); `consts`: initializers; `outputs`: output names and ranks. */
export function opCase(
  nodes: GraphNode[],
  inputs: Record<string, number[]>,
  consts: Record<string, ConstSpec>,
  outputs: Record<string, number | [number, Dtype]>,
): OpCase {
  let seed = 11;
  const weights = new Map<string, TensorBytes>();
  for (const [name, c] of Object.entries(consts)) {
    const dtype = c.dtype ?? 'F32';
    let values = c.values ?? Array.from(seededInput(c.shape, seed++).data as Float32Array);
    if (c.positive) values = values.map((v) => Math.abs(v) + 0.5);
    if (values.length !== numElements(c.shape)) throw new Error(`constant ${name}: ${values.length} values for [${c.shape}]`);
    weights.set(name, { dtype, shape: c.shape, data: encodeConstantValues(dtype, values) });
  }
  const graph: ArchitectureGraph = {
    name: 'op-case',
    opset: 17,
    inputs: Object.entries(inputs).map(([name, shape]) => ({ name, dtype: 'F32', shape })),
    outputs: Object.entries(outputs).map(([name, spec]) => {
      const [rank, dtype] = typeof spec === 'number' ? [spec, 'F32' as Dtype] : spec;
      return { name, dtype, shape: Array.from({ length: rank }, (_, i) => `d${i}`) };
    }),
    initializers: Object.entries(consts).map(([name, c]) => ({ name, dtype: c.dtype ?? 'F32', shape: c.shape, isParameter: true })),
    nodes,
  };
  return { graph, weights, inputs: Object.fromEntries(Object.entries(inputs).map(([name, shape]) => [name, seededInput(shape, seed++)])) };
}

export const int64 = (values: number[], shape = [values.length]): ConstSpec => ({ dtype: 'I64', shape, values });
export const float = (values: number[], shape = [values.length]): ConstSpec => ({ dtype: 'F32', shape, values });
