import { CoreError } from '../errors';

/** Named parameter (or gradient) tensors as flat float32 arrays, in a fixed (state_dict) order. */
export type ParamArrays = ReadonlyMap<string, Float32Array>;

/**
 * An optimizer's whole state as plain data, so a training can be saved and resumed: the step count
 * and named arrays (e.g. `fc.weight.exp_avg`). Restoring it continues the identical trajectory.
 */
export interface OptimizerState {
  step: number;
  arrays: Record<string, Float32Array | Float64Array>;
}

export interface Optimizer {
  /** Updates `params` in place from `grads` (parameters without a gradient are left alone). */
  step(params: ParamArrays, grads: ParamArrays): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
  /** Sets the learning rate used from the next step on (a schedule calls it before each step). */
  setLearningRate(lr: number): void;
  readonly learningRate: number;
}

export function requireFinite(name: string, value: number, min = -Infinity, max = Infinity): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new CoreError('INVALID_ARGUMENT', `optimizer option ${name} must be a finite number in [${min}, ${max}], got ${value}`, { option: name });
  }
  return value;
}

/** Copies of the arrays of a state (so that a saved state does not change as training goes on). */
export function copyArrays(arrays: Record<string, Float32Array | Float64Array>): Record<string, Float32Array | Float64Array> {
  return Object.fromEntries(Object.entries(arrays).map(([k, v]) => [k, v.slice()]));
}
