import * as tf from '@tensorflow/tfjs-core';
import { FLOAT_DTYPES, scalarOf, type HostValue } from '../host-ops';
import { prepareConvWeights, preparedTensors, type FusedActivation, type PreparedConv } from './kernels-conv';
import { batchNormScaleShift, type PreparedBatchNorm, type PreparedGemm, type PreparedSoftmax } from './kernels-nn';
import { isTensorValue, numAttr, tidy, type CompiledNode, type RtValue } from './values';

export interface CompileOptions {
  /** Fold BatchNorm into the preceding conv and fuse ReLU/ReLU6/Sigmoid into convs and Gemms (default true). */
  fuse: boolean;
  opset: number;
  /** Backend tensors for host constants (e.g. a one-element bias), owned by the caller. */
  hostTensor: (v: HostValue) => tf.Tensor;
}

interface Compiled {
  nodes: CompiledNode[];
  /** Tensors made for prepared nodes (owned by the engine). */
  owned: tf.Tensor[];
}

/**
 * Rewrites the nodes that remain after constant evaluation into an execution list: conv weights
 * pre-transposed to TF.js layouts (BatchNorm folded in, activations fused), eval BatchNorms as a
 * per-channel scale and shift, Gemms with constant B pre-transposed with alpha/beta folded in.
 * `statics` holds the constant values (weights and constant-derived tensors).
 */
export function compileNodes(
  nodes: readonly CompiledNode[],
  statics: ReadonlyMap<string, RtValue>,
  graphOutputs: ReadonlySet<string>,
  options: CompileOptions,
): Compiled {
  const consumers = new Map<string, CompiledNode[]>();
  for (const node of nodes) for (const input of node.inputs) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  const soleConsumer = (value: string): CompiledNode | undefined => {
    const list = consumers.get(value) ?? [];
    return list.length === 1 && !graphOutputs.has(value) ? list[0] : undefined;
  };
  const staticTensor = (name: string | undefined): tf.Tensor | undefined => {
    const v = name === undefined || name === '' ? undefined : statics.get(name);
    if (v === undefined) return undefined;
    return isTensorValue(v) ? v.tensor : FLOAT_DTYPES.has(v.dtype) ? options.hostTensor(v) : undefined;
  };
  const removed = new Set<CompiledNode>();
  const owned: tf.Tensor[] = [];
  const out: CompiledNode[] = [];

  /** A fusable activation consuming `value` alone, if any. */
  const activationAfter = (value: string): { node: CompiledNode; activation: FusedActivation; alpha?: number } | undefined => {
    const next = options.fuse ? soleConsumer(value) : undefined;
    if (!next || next.inputs[0] !== value) return undefined;
    if (next.opType === 'Relu') return { node: next, activation: 'relu' };
    if (next.opType === 'Sigmoid') return { node: next, activation: 'sigmoid' };
    if (next.opType === 'LeakyRelu') return { node: next, activation: 'leakyrelu', alpha: numAttr(next, 'alpha', 0.01) };
    if (next.opType === 'Clip') {
      const bound = (i: number, attr: string): number | undefined => {
        const v = next.inputs[i] ? statics.get(next.inputs[i]) : undefined;
        if (v !== undefined) return isTensorValue(v) ? undefined : scalarOf(v, 'Clip bound');
        return typeof next.attributes[attr] === 'number' ? (next.attributes[attr] as number) : undefined;
      };
      if (bound(1, 'min') === 0 && bound(2, 'max') === 6) return { node: next, activation: 'relu6' };
    }
    return undefined;
  };

  for (const node of nodes) {
    if (removed.has(node)) continue;
    const weight = staticTensor(node.inputs[1]);
    if (node.opType === 'Conv' && weight && (node.inputs[2] === undefined || node.inputs[2] === '' || staticTensor(node.inputs[2]))) {
      out.push(
        tidy(() => {
          let w = weight;
          let b = staticTensor(node.inputs[2]);
          let output = node.outputs[0];
          const bn = options.fuse ? soleConsumer(output) : undefined;
          const bnParams = bn?.opType === 'BatchNormalization' ? [1, 2, 3, 4].map((i) => staticTensor(bn.inputs[i])) : [];
          if (bn && bnParams.length === 4 && bnParams.every((t) => t) && numAttr(bn, 'training_mode', 0) !== 1 && bn.outputs.slice(1).every((o) => o === '')) {
            const [gamma, beta, mean, variance] = bnParams as tf.Tensor[];
            const { scale, shift } = batchNormScaleShift(gamma, beta, mean, variance, numAttr(bn, 'epsilon', 1e-5));
            w = tf.mul(w, tf.reshape(scale, [-1, 1, 1, 1]));
            b = b === undefined ? shift : tf.add(tf.mul(tf.reshape(b, [-1]), scale), shift);
            output = bn.outputs[0];
            removed.add(bn);
          }
          const act = activationAfter(output);
          if (act) {
            output = act.node.outputs[0];
            removed.add(act.node);
          }
          const prepared = prepareConvWeights(w, b, numAttr(node, 'group', 1), act?.activation, act?.alpha);
          keepAll(preparedTensors(prepared), owned);
          return compiled(node, [node.inputs[0]], [output], prepared);
        }),
      );
      continue;
    }
    if (node.opType === 'BatchNormalization' && numAttr(node, 'training_mode', 0) !== 1) {
      const params = [1, 2, 3, 4].map((i) => staticTensor(node.inputs[i]));
      if (params.every((t) => t)) {
        const [gamma, beta, mean, variance] = params as tf.Tensor[];
        const prepared: PreparedBatchNorm = tidy(() => batchNormScaleShift(gamma, beta, mean, variance, numAttr(node, 'epsilon', 1e-5)));
        keepAll([prepared.scale, prepared.shift], owned);
        out.push(compiled(node, [node.inputs[0]], node.outputs, prepared));
        continue;
      }
    }
    if (node.opType === 'Gemm' && weight && weight.rank === 2 && (node.inputs[2] === undefined || node.inputs[2] === '' || staticTensor(node.inputs[2]))) {
      const act = activationAfter(node.outputs[0]);
      const c = staticTensor(node.inputs[2]);
      const prepared: PreparedGemm = tidy(() => {
        const alpha = numAttr(node, 'alpha', 1);
        const beta = numAttr(node, 'beta', 1);
        const b = numAttr(node, 'transB', 0) === 1 ? tf.transpose(weight) : tf.clone(weight);
        return {
          b: (alpha === 1 ? b : tf.mul(b, alpha)) as tf.Tensor2D,
          bias: c === undefined ? undefined : beta === 1 ? tf.clone(c) : tf.mul(c, beta),
          activation: act?.activation ?? 'linear',
        };
      });
      keepAll(prepared.bias ? [prepared.b, prepared.bias] : [prepared.b], owned);
      if (act) removed.add(act.node);
      out.push(compiled(node, [node.inputs[0]], [act ? act.node.outputs[0] : node.outputs[0]], prepared));
      continue;
    }
    if ((node.opType === 'Softmax' || node.opType === 'LogSoftmax') && options.opset < 13) {
      out.push(compiled(node, node.inputs, node.outputs, { legacy: true } satisfies PreparedSoftmax));
      continue;
    }
    out.push(node);
  }
  return { nodes: out, owned };
}

function compiled(node: CompiledNode, inputs: string[], outputs: string[], prepared: PreparedConv | PreparedBatchNorm | PreparedGemm | PreparedSoftmax): CompiledNode {
  return { ...node, inputs, outputs, prepared };
}

function keepAll(tensors: tf.Tensor[], owned: tf.Tensor[]): void {
  for (const t of tensors) owned.push(tf.keep(t));
}
