import { CoreError } from '../errors';
import type { LazyTensor } from '../formats/tensor-set';
import type { ArchitectureGraph } from '../graph/ir';
import { numElements } from '../tensor/dtypes';
import { orthogonalCost, orthogonalMatrix } from './orthogonal';
import { checkSeed, randomStream, type RandomStream } from './seeded-random';
import { constantBytes, encodeFloats, isFloatDtype, type InitTensor } from './tensor-bytes';
import { classifyTensors, fans, type ClassifiedTensor, type TensorRole } from './tensor-roles';

/** Initializations computed without a GHN. */
export const INIT_METHODS = ['kaiming', 'torch-default', 'orthogonal'] as const;
export type InitMethod = (typeof INIT_METHODS)[number];

/**
 * How BatchNorm running statistics are set (they are never predicted by a GHN). `fresh`: mean 0,
 * var 1, num_batches_tracked 0, as in a freshly constructed torch model. Evaluating such a model in
 * eval mode normalizes with these defaults: recalibrate BN on data, or use train-mode BN.
 */
export const BATCH_NORM_POLICIES = ['fresh'] as const;
export type BatchNormPolicy = (typeof BATCH_NORM_POLICIES)[number];

export interface InitializeOptions {
  seed: number;
}

/** How one tensor's values are drawn. */
type Rule =
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number; truncateAt?: number }
  | { kind: 'orthogonal' };

const ZERO: Rule = { kind: 'constant', value: 0 };
const ONE: Rule = { kind: 'constant', value: 1 };

/**
 * The rule for roles every method treats alike: normalization affine parameters, BatchNorm
 * statistics (the `fresh` policy), and torchvision's own parameters (ViT tokens, layer scales).
 */
function commonRule(role: TensorRole): Rule | null {
  switch (role) {
    case 'norm-weight':
    case 'running-var':
      return ONE;
    case 'norm-bias':
    case 'running-mean':
    case 'batch-count':
    case 'unknown-buffer':
    case 'class-token':
    case 'attention-bias':
      return ZERO;
    case 'position-embedding':
      return { kind: 'normal', std: 0.02 };
    case 'position-bias-table':
      return { kind: 'normal', std: 0.02, truncateAt: 2 };
    case 'layer-scale':
      return { kind: 'constant', value: 1e-6 };
    case 'embedding':
      return { kind: 'normal', std: 1 };
    default:
      return null;
  }
}

/** PyTorch module defaults: kaiming_uniform(a=√5) weights, U(±1/√fan_in) biases, xavier MHA input projections. */
function torchDefaultRule(t: ClassifiedTensor): Rule {
  const { shape } = t.init;
  switch (t.role) {
    case 'conv-weight':
    case 'linear-weight':
      // kaiming_uniform_(a=√5): bound = gain·√3/√fan_in with gain = √(2/(1+5)), i.e. 1/√fan_in.
      return { kind: 'uniform', bound: 1 / Math.sqrt(Math.max(1, fans(shape).fanIn)) };
    case 'attention-in-weight': {
      const { fanIn, fanOut } = fans(shape);
      return { kind: 'uniform', bound: Math.sqrt(6 / Math.max(1, fanIn + fanOut)) };
    }
    case 'layer-bias':
      return t.biasFanIn ? { kind: 'uniform', bound: 1 / Math.sqrt(t.biasFanIn) } : ZERO;
    case 'unknown-parameter':
      return shape.length >= 2 ? { kind: 'uniform', bound: 1 / Math.sqrt(Math.max(1, fans(shape).fanIn)) } : ZERO;
    default:
      return commonRule(t.role) ?? ZERO;
  }
}

/** torchvision ResNet style: kaiming_normal(fan_out, relu) convs, N(0, 0.01) linears, zero biases. */
function kaimingRule(t: ClassifiedTensor): Rule {
  const { shape } = t.init;
  switch (t.role) {
    case 'conv-weight':
      return { kind: 'normal', std: Math.SQRT2 / Math.sqrt(Math.max(1, fans(shape).fanOut)) };
    case 'linear-weight':
    case 'attention-in-weight':
      return { kind: 'normal', std: 0.01 };
    case 'layer-bias':
      return ZERO;
    case 'unknown-parameter':
      return shape.length >= 2 ? { kind: 'normal', std: 0.01 } : ZERO;
    default:
      return commonRule(t.role) ?? ZERO;
  }
}

/** orthogonal_ (gain 1) on every weight matrix, flattened to (out, rest); zero biases. */
function orthogonalRule(t: ClassifiedTensor): Rule {
  switch (t.role) {
    case 'conv-weight':
    case 'linear-weight':
    case 'attention-in-weight':
    case 'embedding':
      return { kind: 'orthogonal' };
    case 'layer-bias':
      return ZERO;
    case 'unknown-parameter':
      return t.init.shape.length >= 2 ? { kind: 'orthogonal' } : ZERO;
    default:
      return commonRule(t.role) ?? ZERO;
  }
}

function ruleFor(t: ClassifiedTensor, method: InitMethod): Rule {
  switch (method) {
    case 'torch-default':
      return torchDefaultRule(t);
    case 'kaiming':
      return kaimingRule(t);
    case 'orthogonal':
      return orthogonalRule(t);
  }
}

function sample(rule: Rule, n: number, random: RandomStream, out: Float32Array | Float64Array): void {
  if (rule.kind === 'uniform') {
    const { bound } = rule;
    for (let i = 0; i < n; i++) out[i] = (2 * random.uniform() - 1) * bound;
  } else if (rule.kind === 'normal') {
    const { std, truncateAt } = rule;
    for (let i = 0; i < n; i++) {
      let v = random.normal() * std;
      if (truncateAt !== undefined) while (v < -truncateAt || v > truncateAt) v = random.normal() * std;
      out[i] = v;
    }
  }
}

/**
 * The fresh value of one state_dict entry under `method` (its own random stream: seed and name).
 * Integer tensors are only ever constants (BatchNorm's num_batches_tracked is 0).
 */
export function initializeTensor(t: ClassifiedTensor, method: InitMethod, seed: number, streamName = t.init.name): InitTensor {
  const { dtype } = t.init;
  const shape = [...t.init.shape];
  const rule = ruleFor(t, method);
  if (rule.kind === 'constant') return { dtype, shape, data: constantBytes(dtype, shape, rule.value) };
  if (!isFloatDtype(dtype)) return { dtype, shape, data: constantBytes(dtype, shape, 0) };
  const random = randomStream(seed, streamName);
  const n = numElements(shape);
  if (rule.kind === 'orthogonal') {
    const rows = shape[0] ?? 1;
    return { dtype, shape, data: encodeFloats(dtype, orthogonalMatrix(rows, rows === 0 ? 0 : n / rows, random)) };
  }
  const values = dtype === 'F32' ? new Float32Array(n) : new Float64Array(n);
  sample(rule, n, random, values);
  return { dtype, shape, data: encodeFloats(dtype, values) };
}

/** Classifies the graph's state_dict entries; the one place both paths (methods and GHN fill) start from. */
export function classifiedTensors(graph: ArchitectureGraph): ClassifiedTensor[] {
  if (graph.initializers.length === 0) throw new CoreError('INVALID_ARGUMENT', `architecture '${graph.name}' has no state_dict entries to initialize`);
  return classifyTensors(graph);
}

/**
 * Every state_dict entry of the graph (parameters and buffers, in state_dict order), initialized
 * with PyTorch's semantics for `method`, as lazy tensors computed one at a time when read (so a
 * large model streams to a file without holding all its values). An exporter alias (`aliasOf`,
 * tied weights) gets the values of the tensor it aliases.
 */
export function initializationTensors(graph: ArchitectureGraph, method: InitMethod, options: InitializeOptions): LazyTensor[] {
  checkMethod(method);
  const seed = checkSeed(options.seed);
  const classified = classifiedTensors(graph);
  const byName = new Map(classified.map((t) => [t.init.name, t]));
  return classified.map((t) => {
    const source = (t.init.aliasOf !== undefined ? byName.get(t.init.aliasOf) : undefined) ?? t;
    return lazyTensor(t.init.name, t.init.dtype, t.init.shape, () => initializeTensor({ ...source, init: { ...source.init, dtype: t.init.dtype } }, method, seed).data);
  });
}

/** initializationTensors, materialized: name → { dtype, shape, data } (little-endian bytes). */
export function initializeParameters(graph: ArchitectureGraph, method: InitMethod, options: InitializeOptions): Map<string, InitTensor> {
  checkMethod(method);
  const seed = checkSeed(options.seed);
  const out = new Map<string, InitTensor>();
  const classified = classifiedTensors(graph);
  const byName = new Map(classified.map((t) => [t.init.name, t]));
  for (const t of classified) {
    const alias = t.init.aliasOf !== undefined ? out.get(t.init.aliasOf) : undefined;
    const source = (t.init.aliasOf !== undefined ? byName.get(t.init.aliasOf) : undefined) ?? t;
    out.set(t.init.name, alias ? { ...alias, dtype: t.init.dtype } : initializeTensor({ ...source, init: { ...source.init, dtype: t.init.dtype } }, method, seed));
  }
  return out;
}

/** Rough floating-point work of an initialization (QR dominates orthogonal; sampling ~20 flops a value). */
export function initializationCost(graph: ArchitectureGraph, method: InitMethod): number {
  let cost = 0;
  for (const t of classifyTensors(graph)) {
    const n = numElements(t.init.shape);
    const rows = Math.max(1, t.init.shape[0] ?? 1);
    cost += 20 * n;
    if (method === 'orthogonal' && orthogonalRule(t).kind === 'orthogonal') cost += orthogonalCost(rows, n / rows);
  }
  return cost;
}

function checkMethod(method: string): asserts method is InitMethod {
  if (!(INIT_METHODS as readonly string[]).includes(method)) {
    throw new CoreError('INVALID_ARGUMENT', `unknown initialization method '${method}' (one of ${INIT_METHODS.join(', ')})`, { method });
  }
}

export function lazyTensor(name: string, dtype: InitTensor['dtype'], shape: readonly number[], compute: () => Uint8Array): LazyTensor {
  return {
    name,
    dtype,
    shape: [...shape],
    async *chunks() {
      yield compute();
    },
  };
}
