import type * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../../errors';
import { isTensorValue, type RtValue } from './values';

/**
 * The live values of one run. Tensors are reference-counted by object (a kernel may return its
 * input unchanged, e.g. Identity), and disposed when the last value naming them is released.
 * Persistent tensors (weights, plan constants) are never disposed here.
 */
export class RunState {
  private readonly values = new Map<string, RtValue>();
  private readonly refs = new Map<tf.Tensor, number>();

  constructor(
    private readonly fallback: (name: string) => RtValue | undefined,
    private readonly isPersistent: (t: tf.Tensor) => boolean,
  ) {}

  get(name: string): RtValue | undefined {
    if (name === '') return undefined;
    const v = this.values.get(name) ?? this.fallback(name);
    if (v === undefined) throw new CoreError('GRAPH_INVALID', `value '${name}' is used before it is computed`, { value: name });
    return v;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  set(name: string, v: RtValue): void {
    if (name === '') {
      this.dispose(v);
      return;
    }
    this.release(name);
    this.values.set(name, v);
    if (isTensorValue(v) && !this.isPersistent(v.tensor)) this.refs.set(v.tensor, (this.refs.get(v.tensor) ?? 0) + 1);
  }

  release(name: string): void {
    const v = this.values.get(name);
    if (v === undefined) return;
    this.values.delete(name);
    if (!isTensorValue(v) || this.isPersistent(v.tensor)) return;
    const n = (this.refs.get(v.tensor) ?? 1) - 1;
    if (n > 0) {
      this.refs.set(v.tensor, n);
    } else {
      this.refs.delete(v.tensor);
      v.tensor.dispose();
    }
  }

  /** Disposes a value that was never stored (an output nobody reads). */
  dispose(v: RtValue): void {
    if (isTensorValue(v) && !this.isPersistent(v.tensor) && !this.refs.has(v.tensor)) v.tensor.dispose();
  }

  releaseAll(): void {
    for (const name of [...this.values.keys()]) this.release(name);
  }
}
