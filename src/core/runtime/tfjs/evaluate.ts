import * as tf from '@tensorflow/tfjs-core';
import { CoreError, isCoreError } from '../../errors';
import { numElements } from '../../tensor/dtypes';
import { evaluateHostNode, hostValue, HOST_OPS } from '../host-ops';
import { CONV_KERNELS } from './kernels-conv';
import { ELEMENTWISE_KERNELS } from './kernels-elementwise';
import { NN_KERNELS } from './kernels-nn';
import { TENSOR_KERNELS } from './kernels-tensor';
import {
  isTensorValue,
  logicalShape,
  numAttr,
  requireInput,
  tidy,
  unsupported,
  type CompiledNode,
  type Kernel,
  type KernelContext,
  type RtValue,
} from './values';

const KERNELS: Record<string, Kernel> = { ...ELEMENTWISE_KERNELS, ...CONV_KERNELS, ...NN_KERNELS, ...TENSOR_KERNELS };

/** Ops the TF.js engine executes (on the backend or, for shape arithmetic, on the host). */
export const TFJS_SUPPORTED_OPS: ReadonlySet<string> = new Set([...Object.keys(KERNELS), ...HOST_OPS, 'Shape', 'Size']);

function shapeOp(node: CompiledNode, inputs: (RtValue | undefined)[]): RtValue[] {
  const shape = logicalShape(requireInput(inputs[0], `input of ${node.name}`));
  if (node.opType === 'Size') return [hostValue('I64', [], [numElements(shape)])];
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + shape.length : v, 0), shape.length);
  const picked = shape.slice(clamp(numAttr(node, 'start', 0)), clamp(numAttr(node, 'end', shape.length)));
  return [hostValue('I64', [picked.length], picked)];
}

/**
 * Runs one node: Shape/Size and nodes whose inputs are all host values (constants, shape
 * arithmetic) in JavaScript, everything else through its TF.js kernel inside tf.tidy (the
 * kernel's temporaries are freed; the tensors it returns are not).
 */
export function evaluateNode(ctx: KernelContext, node: CompiledNode, inputs: (RtValue | undefined)[]): RtValue[] {
  if (node.opType === 'Shape' || node.opType === 'Size') return shapeOp(node, inputs);
  const allHost = inputs.every((v) => !isTensorValue(v));
  if (allHost && node.prepared === undefined && HOST_OPS.has(node.opType)) {
    const host = evaluateHostNode(node, inputs as Parameters<typeof evaluateHostNode>[1]);
    if (host !== undefined) return host;
  }
  const kernel = KERNELS[node.opType];
  if (!kernel) throw unsupported(node, 'this op is not supported by the TF.js engine');
  try {
    return tidy(() => kernel(ctx, node, inputs));
  } catch (e) {
    if (isCoreError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new CoreError('INFERENCE_FAILED', `${node.opType} node ${node.name} failed on the ${tf.getBackend()} backend: ${message}`, {
      node: node.name,
      opType: node.opType,
    });
  }
}

