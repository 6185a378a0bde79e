import type { ArchitectureGraph, ValueInfo } from '../../core/graph/ir';
import type { HostTensor } from '../../core/runtime';
import type { Dtype } from '../../core/tensor/dtypes';
import { datatypeOf, invalid } from './oip-tensors';

/** A model input or output: dims are numbers, or names for variable dims (e.g. `batch`). */
export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: (number | string)[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /**
   * True when every input and output starts with the same variable dim: requests can then be
   * concatenated along it and the outputs split back by rows.
   */
  batchable: boolean;
}

/** A decoded request input, before it is checked against the model. */
export interface RequestInput {
  name: string;
  datatype: string;
  tensor: HostTensor;
}

export interface CheckedInputs {
  tensors: Record<string, HostTensor>;
  /** Rows along the batch dim (1 for a model that is not batchable). */
  rows: number;
  /** Requests with equal keys can share a batch (same dtypes and per-row shapes). */
  batchKey: string;
}

const FLOATS = new Set<Dtype>(['F32', 'F64', 'F16', 'BF16']);

/** Model inputs and outputs as served: engines return float outputs as F32. */
export function signatureOf(graph: ArchitectureGraph): ModelSignature {
  const spec = (v: ValueInfo, output: boolean): TensorSpec => ({
    name: v.name,
    dtype: output && FLOATS.has(v.dtype) ? 'F32' : v.dtype,
    shape: [...v.shape],
  });
  const inputs = graph.inputs.map((v) => spec(v, false));
  const outputs = graph.outputs.map((v) => spec(v, true));
  const all = [...inputs, ...outputs];
  const first = all[0]?.shape[0];
  const batchable = typeof first === 'string' && all.every((t) => t.shape.length > 0 && t.shape[0] === first);
  return { inputs, outputs, batchable };
}

/** Dims as the protocol's metadata gives them: -1 for a variable dim. */
export function metadataShape(spec: TensorSpec): number[] {
  return spec.shape.map((d) => (typeof d === 'number' ? d : -1));
}

function describe(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === 'number' ? d : -1)).join(', ')}]`;
}

/**
 * Checks a request's inputs against the model: every input present once, datatypes equal (no
 * silent conversion), ranks and fixed dims equal, and for a batchable model one batch size
 * (1..maxBatchSize) shared by all inputs. Failures are 400s naming the input.
 */
export function checkRequestInputs(signature: ModelSignature, inputs: readonly RequestInput[], maxBatchSize: number): CheckedInputs {
  const byName = new Map<string, RequestInput>();
  const expected = signature.inputs.map((s) => `'${s.name}'`).join(', ');
  for (const input of inputs) {
    if (byName.has(input.name)) throw invalid(`input '${input.name}' is given twice`);
    if (!signature.inputs.some((s) => s.name === input.name)) throw invalid(`unknown input '${input.name}'; the model takes ${expected}`);
    byName.set(input.name, input);
  }
  const tensors: Record<string, HostTensor> = {};
  const keyParts: string[] = [];
  let rows: number | null = null;
  for (const spec of signature.inputs) {
    const input = byName.get(spec.name);
    if (!input) throw invalid(`input '${spec.name}' is missing; the model takes ${expected}`);
    const { shape } = input.tensor;
    const where = `input '${spec.name}'`;
    if (input.tensor.dtype !== spec.dtype) {
      throw invalid(`${where} has datatype ${input.datatype}, the model expects ${datatypeOf(spec.dtype)}`);
    }
    const fits = shape.length === spec.shape.length && spec.shape.every((d, i) => typeof d !== 'number' || d === shape[i]);
    if (!fits) throw invalid(`${where} has shape [${shape.join(', ')}], the model expects ${describe(spec.shape)}`);
    if (signature.batchable) {
      const n = shape[0];
      if (n < 1) throw invalid(`${where} has an empty batch (shape [${shape.join(', ')}])`);
      if (n > maxBatchSize) throw invalid(`${where} has a batch of ${n}, more than the model's maxBatchSize ${maxBatchSize}`);
      if (rows !== null && n !== rows) throw invalid(`inputs disagree on the batch size (${rows} and ${n})`);
      rows = n;
    }
    tensors[spec.name] = input.tensor;
    keyParts.push(`${spec.dtype}:${(signature.batchable ? shape.slice(1) : shape).join('x')}`);
  }
  return { tensors, rows: rows ?? 1, batchKey: keyParts.join('|') };
}
