import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { TensorBackendChoice } from '../config/app-config';

export interface BackendSelection {
  /** The active tfjs backend name (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  backend: string;
  requested: TensorBackendChoice;
  /** Why candidates earlier in the order were skipped. */
  skipped: { backend: string; reason: string }[];
}

type Candidate = Exclude<TensorBackendChoice, 'auto'>;
const AUTO_ORDER: Candidate[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

// Optional packages are loaded by computed names so that bundlers and tsc do not require them.
function optionalRequire(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

/**
 * Whether the Vulkan loader Dawn needs is installed (Linux: in the dynamic linker's cache or on
 * LD_LIBRARY_PATH). Without it Dawn prints a warning to stderr and finds no adapter, so the webgpu
 * candidate is skipped quietly instead. Other platforms are left to Dawn.
 */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const lib = 'libvulkan.so.1';
  // The dynamic linker's search path, not a setting of ours: read where dlopen would read it.
  // eslint-disable-next-line no-restricted-properties
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, lib)))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes(lib);
  } catch {
    return true; // no cache to read: let Dawn look
  }
}

async function tryBackend(name: Candidate): Promise<string | null> {
  switch (name) {
    case 'tensorflow': {
      // tfjs-node cannot be installed on machines without internet access (its install script
      // downloads libtensorflow); a CUDA image built with network access can add it.
      let loaded = false;
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        try {
          optionalRequire(pkg);
          loaded = true;
          break;
        } catch {
          /* try the next one */
        }
      }
      if (!loaded) return 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed';
      return (await tf.setBackend('tensorflow')) ? null : 'tensorflow backend failed to initialise';
    }
    case 'webgpu': {
      if (!vulkanLoaderPresent()) return 'the Vulkan loader (libvulkan.so.1) is not installed';
      let webgpu: { create: (opts: string[]) => unknown; globals: Record<string, unknown> };
      try {
        webgpu = optionalRequire('webgpu') as typeof webgpu;
      } catch {
        return 'the webgpu package is not installed';
      }
      Object.assign(globalThis, webgpu.globals);
      const gpu = webgpu.create([]) as { requestAdapter(): Promise<unknown> };
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      // The backend package registers itself only if navigator.gpu exists when it is first loaded.
      try {
        optionalRequire('@tensorflow/tfjs-backend-webgpu');
      } catch {
        return 'the @tensorflow/tfjs-backend-webgpu package is not installed';
      }
      const adapter = await gpu.requestAdapter().catch(() => null);
      if (!adapter) return 'no GPU adapter found';
      return (await tf.setBackend('webgpu')) ? null : 'webgpu backend failed to initialise';
    }
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return (await tf.setBackend('wasm')) ? null : 'wasm backend failed to initialise';
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return (await tf.setBackend('cpu')) ? null : 'cpu backend failed to initialise';
  }
}

/**
 * Selects the tfjs backend once at start: an explicit choice must work or start fails; `auto` walks
 * tensorflow → webgpu → wasm → cpu (fastest first) and records why each earlier one was skipped.
 */
export async function selectBackend(requested: TensorBackendChoice): Promise<BackendSelection> {
  const order = requested === 'auto' ? AUTO_ORDER : [requested];
  const skipped: { backend: string; reason: string }[] = [];
  for (const name of order) {
    let reason: string | null;
    try {
      reason = await tryBackend(name);
    } catch (e) {
      reason = (e as Error).message;
    }
    if (reason === null) {
      await tf.ready();
      return { backend: tf.getBackend(), requested, skipped };
    }
    skipped.push({ backend: name, reason });
  }
  throw new Error(`no usable tensor backend: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}
