import type { NativeKernels } from './native-kernels';

let active: NativeKernels | null = null;

/** The native kernels this thread's training ops use, or null (TF.js for everything). */
export function activeNativeKernels(): NativeKernels | null {
  return active;
}

/** Set once per thread at start (worker, CLI), after the TF.js backend; null turns native kernels off. */
export function setActiveNativeKernels(kernels: NativeKernels | null): void {
  active = kernels;
}
