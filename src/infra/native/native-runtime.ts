import { loadNativeKernels, setActiveNativeKernels, type NativeLoadResult, type NativePrimitiveEvent } from '../../core/runtime/native';
import type { NativeKernelSettings } from '../config/app-config';

/** Which kernels run natively in this thread, or why none do. */
export interface NativeKernelStatus {
  active: boolean;
  /** Native kernel names (empty when inactive); everything else runs on TF.js. */
  kernels: string[];
  /** oneDNN's version and thread count when active. */
  version: string | null;
  threads: number | null;
  /** Why native kernels are inactive (`off`, not built, libdnnl missing); null when active. */
  reason: string | null;
}

export interface NativeRuntimeLog {
  /** A primitive that runs on oneDNN's reference implementation (slow: a missing optimized kernel for this shape). */
  warn(message: string, detail: Record<string, unknown>): void;
}

/**
 * Says which kernels a thread started with these settings would run natively, without making this
 * thread use them (the server's main thread never trains: trainings run in worker threads).
 */
export function probeNativeKernels(settings: NativeKernelSettings): NativeKernelStatus {
  if (settings.kernels === 'off') return { active: false, kernels: [], version: null, threads: null, reason: 'WEIGHTSMITH_NATIVE_KERNELS=off' };
  return statusOf(loadNativeKernels({ threads: settings.threads ?? undefined }));
}

/**
 * Loads the oneDNN addon for the calling thread per the settings and makes the training ops use it.
 * Called once per thread that trains (worker, CLI) after the TF.js backend is chosen.
 */
export function startNativeKernels(settings: NativeKernelSettings, log?: NativeRuntimeLog): NativeKernelStatus {
  if (settings.kernels === 'off') {
    setActiveNativeKernels(null);
    return { active: false, kernels: [], version: null, threads: null, reason: 'WEIGHTSMITH_NATIVE_KERNELS=off' };
  }
  const onPrimitive = (e: NativePrimitiveEvent): void => {
    if (e.reference) log?.warn('a native kernel runs on oneDNN reference code (slow) for this shape', { ...e });
  };
  const loaded = loadNativeKernels({ threads: settings.threads ?? undefined, onPrimitive });
  setActiveNativeKernels(loaded.kernels);
  return statusOf(loaded);
}


function statusOf(loaded: NativeLoadResult): NativeKernelStatus {
  if (loaded.kernels === null) return { active: false, kernels: [], version: null, threads: null, reason: loaded.reason };
  const stats = loaded.kernels.stats();
  return { active: true, kernels: [...loaded.kernels.kernels], version: stats.version, threads: stats.threads, reason: null };
}
