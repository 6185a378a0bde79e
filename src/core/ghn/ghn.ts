import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';
import { readAll, type LazyTensor, type TensorSet } from '../formats/tensor-set';
import { decodeBfloat16, decodeFloat16 } from '../tensor/half';
import { inferGhnConfig, parseGhnConfig, type GhnConfig } from './ghn-config';
import { assembleGhnWeights, buildGhnWeights, checkGhnKeys, ghnKeySpecs, ghnWeightTensors, type GhnWeights } from './ghn-weights';

/**
 * How the official forward leaves BatchNorm layers: ppuda switches them to batch
 * statistics (bn_train=True by default); ghn3 keeps running statistics (bn_track_running_stats=True).
 * Either way running statistics are never predicted.
 */
export type GhnBatchNormMode = 'batch-statistics' | 'running-statistics';

/** A loaded GHN: its config and its own float32 weight tensors (free them with dispose()). */
export class Ghn {
  private disposedFlag = false;

  constructor(
    readonly config: GhnConfig,
    readonly weights: GhnWeights,
  ) {}

  get defaultBatchNormMode(): GhnBatchNormMode {
    return this.config.impl === 'ppuda' ? 'batch-statistics' : 'running-statistics';
  }

  get isDisposed(): boolean {
    return this.disposedFlag;
  }

  /** Number of float values held (the GHN's parameter count). */
  get numParameters(): number {
    return ghnWeightTensors(this.weights).reduce((n, t) => n + t.size, 0);
  }

  /** Tensors held in the decoder column-subset cache (derived on use; freed by dispose). */
  get derivedTensorCount(): number {
    let n = 0;
    for (const d of this.weights.derived.values()) n += d.b ? 2 : 1;
    return n;
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    tf.dispose(ghnWeightTensors(this.weights));
    for (const d of this.weights.derived.values()) tf.dispose([d.w, ...(d.b ? [d.b] : [])]);
    this.weights.derived.clear();
  }
}

/**
 * Loads a GHN from state_dict-named tensors. The config is the given one (a GhnConfig, a fixture
 * `ghn/<cfg>.json` object or a bare constructor config), else inferred from the keys (inferGhnConfig).
 * GHN-2 decoder weights stored as 4-D 1×1 convs and top-level centrality embeddings are accepted.
 * The caller keeps ownership of `tensors` and may dispose them afterwards.
 */
export function loadGhn(tensors: ReadonlyMap<string, tf.Tensor>, config?: unknown): Ghn {
  const shapes = new Map<string, number[]>([...tensors].map(([k, t]) => [k, t.shape]));
  const c = config === undefined ? inferGhnConfig(shapes) : parseGhnConfig(config);
  return new Ghn(c, buildGhnWeights(tensors, c));
}

/**
 * Loads a GHN from any checkpoint reader's TensorSet (safetensors, torch zip, joblib, ...), tensor by
 * tensor (Linear weights are transposed in JS, so peak memory is the GHN plus one tensor). Without
 * an explicit config, a `config` entry in the checkpoint's metadata (ppuda / trainer checkpoints)
 * is used, else the config is inferred from the keys.
 */
export async function loadGhnFromTensorSet(set: TensorSet, config?: unknown): Promise<Ghn> {
  const stored = set.metadata.config;
  const explicit = config ?? (stored !== null && typeof stored === 'object' ? stored : undefined);
  const c = explicit === undefined ? inferGhnConfig(new Map(set.tensors.map((t) => [t.name, [...t.shape]]))) : parseGhnConfig(explicit);
  const names = checkGhnKeys(
    set.tensors.map((t) => [t.name, t.shape]),
    c,
  );
  const byName = new Map(set.tensors.map((t) => [t.name, t]));
  const prepared = new Map<string, tf.Tensor>();
  try {
    for (const [key, spec] of ghnKeySpecs(c)) {
      const lazy = byName.get(names.get(key) as string) as LazyTensor;
      const values = decodeFloats(lazy.dtype, await readAll(lazy), lazy.name, spec.transposed ? spec.shape : null);
      prepared.set(key, tf.tensor(values, spec.transposed ? [spec.shape[1], spec.shape[0]] : spec.shape, 'float32'));
    }
  } catch (e) {
    tf.dispose([...prepared.values()]);
    throw e;
  }
  return new Ghn(c, assembleGhnWeights(prepared, c));
}

/** Little-endian floats → float32, transposed from [rows, cols] to [cols, rows] when `transpose` is given. */
function decodeFloats(dtype: string, bytes: Uint8Array, name: string, transpose: number[] | null): Float32Array {
  let values: Float32Array;
  switch (dtype) {
    case 'F32':
      values = bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(bytes.slice().buffer);
      break;
    case 'F64':
      values = Float32Array.from(new Float64Array(bytes.slice().buffer));
      break;
    case 'F16':
      values = decodeFloat16(bytes);
      break;
    case 'BF16':
      values = decodeBfloat16(bytes);
      break;
    default:
      throw new CoreError('INVALID_ARGUMENT', `GHN tensor '${name}' has dtype ${dtype}; GHN weights must be floating point`, { name, dtype });
  }
  if (transpose === null) return values;
  const [rows, cols] = transpose;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = values[r * cols + k];
  return out;
}
