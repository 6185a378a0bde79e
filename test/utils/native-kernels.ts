import { loadNativeKernels, type NativeKernels } from '../../src/core/runtime/native';

/** The suite was asked to run without the oneDNN addon (WEIGHTSMITH_NATIVE_KERNELS=off). */
export function nativeKernelsOff(): boolean {
  return process.env.WEIGHTSMITH_NATIVE_KERNELS === 'off';
}

/**
 * The native kernels for specs. Specs run with them unless WEIGHTSMITH_NATIVE_KERNELS=off says to
 * test without them; a missing addon otherwise fails the spec (build it with `npm run build:native`),
 * so a suite never passes by silently leaving the kernels out.
 */
export function nativeKernelsForTests(): NativeKernels | null {
  if (nativeKernelsOff()) return null;
  // One oneDNN thread: Jest runs spec files side by side, and OpenMP teams on busy cores wait on each other.
  const loaded = loadNativeKernels({ threads: 1 });
  if (loaded.kernels === null) throw new Error(`${loaded.reason} (or set WEIGHTSMITH_NATIVE_KERNELS=off to test without native kernels)`);
  return loaded.kernels;
}
