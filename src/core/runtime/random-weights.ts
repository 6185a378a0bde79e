import type { ArchitectureGraph, Initializer } from '../graph/ir';
import { dtypeSize, numElements } from '../tensor/dtypes';
import type { TensorBytes } from './host-tensor';

export interface RandomWeightsOptions {
  seed?: number;
  /** Only initializers that some node reads (default true: skips num_batches_tracked). */
  usedOnly?: boolean;
  /**
   * Multiplies the standard deviation of conv/linear weights (default 1). Very deep nets without
   * residual scaling (e.g. efficientnet_v2_*) blow up at full Kaiming scale; 0.7 keeps them tame.
   */
  gain?: number;
}

// Bound once: global lookups inside hot loops are slow in VM contexts (e.g. under Jest).
const { cos, imul, log, sin, sqrt, PI } = Math;

/** mulberry32: a small, fast, seedable 32-bit generator (uniform in [0, 1)). */
function uniformSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fillNormal(out: Float32Array, std: number, uniform: () => number, mean = 0): void {
  for (let i = 0; i < out.length; i += 2) {
    // Box–Muller: two normals per pair of uniforms.
    const r = sqrt(-2 * log(1 - uniform())) * std;
    const theta = 2 * PI * uniform();
    out[i] = mean + r * cos(theta);
    if (i + 1 < out.length) out[i + 1] = mean + r * sin(theta);
  }
}

/** Deterministic values for one initializer, following PyTorch's usual initialisation scales. */
function initialValues(init: Initializer, uniform: () => number, gain: number): Float32Array {
  const out = new Float32Array(numElements(init.shape));
  const leaf = init.name.slice(init.name.lastIndexOf('.') + 1);
  if (leaf === 'running_var') return out.fill(1);
  if (leaf === 'running_mean') return out;
  if (/(pos_embedding|class_token|cls_token)$/.test(init.name)) {
    fillNormal(out, 0.02, uniform);
  } else if (init.shape.length >= 2) {
    // Kaiming normal (fan_in, ReLU gain) for conv and linear weights.
    fillNormal(out, gain * sqrt(2 / Math.max(1, numElements(init.shape.slice(1)))), uniform);
  } else if (leaf === 'weight') {
    out.fill(1); // normalisation scales
  } else {
    fillNormal(out, 0.01, uniform); // biases: small, never all-equal
  }
  return out;
}

/**
 * Seeded random weights for a graph (smoke tests, engine comparisons, benchmarks): Kaiming-normal
 * conv/linear weights, unit normalisation scales, BatchNorm running_mean 0 and running_var 1,
 * small random biases, integer buffers 0. The same seed gives the same bytes on every machine.
 */
export function randomWeights(graph: ArchitectureGraph, options: RandomWeightsOptions = {}): Map<string, TensorBytes> {
  const uniform = uniformSource(options.seed ?? 0);
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  const out = new Map<string, TensorBytes>();
  for (const init of graph.initializers) {
    if (init.aliasOf !== undefined || ((options.usedOnly ?? true) && !used.has(init.name))) continue;
    const isFloat = init.dtype === 'F32';
    const values = isFloat ? initialValues(init, uniform, options.gain ?? 1) : undefined;
    const data = values ? new Uint8Array(values.buffer) : new Uint8Array(numElements(init.shape) * dtypeSize(init.dtype));
    out.set(init.name, { dtype: isFloat ? 'F32' : init.dtype, shape: [...init.shape], data });
  }
  return out;
}
