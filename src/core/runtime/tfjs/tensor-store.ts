import * as tf from '@tensorflow/tfjs-core';
import type { HostValue } from '../host-ops';
import { tfDtype, type KernelContext } from './values';

/**
 * Long-lived tensors (weights, prepared filters, host constants converted for the backend,
 * shape-derived constants), disposed together. Also the KernelContext kernels see.
 */
export class TensorStore implements KernelContext {
  private readonly tensors = new Set<tf.Tensor>();
  private readonly converted = new Map<HostValue, tf.Tensor>();
  private readonly caches = new Map<string, tf.Tensor>();

  constructor(private readonly parent?: TensorStore) {}

  /** Takes ownership of a tensor made outside any tf.tidy scope (or kept). */
  adopt<T extends tf.Tensor>(t: T): T {
    this.tensors.add(t);
    return t;
  }

  owns(t: tf.Tensor): boolean {
    return this.tensors.has(t) || (this.parent?.owns(t) ?? false);
  }

  hostTensor(v: HostValue): tf.Tensor {
    let t = this.converted.get(v);
    if (!t) {
      const values = v.dtype === 'I64' ? v.values.map((x) => Math.min(Math.max(x, -2147483648), 2147483647)) : v.values;
      t = this.adopt(tf.keep(tf.tensor(values, v.shape, tfDtype(v.dtype))));
      this.converted.set(v, t);
    }
    return t;
  }

  cached(key: string, make: () => tf.Tensor): tf.Tensor {
    let t = this.caches.get(key);
    if (!t) {
      t = this.adopt(tf.keep(make()));
      this.caches.set(key, t);
    }
    return t;
  }

  /** Disposes one owned tensor (e.g. a raw weight that compilation made redundant). */
  release(t: tf.Tensor): void {
    if (this.tensors.delete(t)) t.dispose();
  }

  get size(): number {
    return this.tensors.size;
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
    this.tensors.clear();
    this.converted.clear();
    this.caches.clear();
  }
}
