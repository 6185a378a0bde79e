import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../io/project-root';

/**
 * 2-D convolution geometry on NCHW input and OIHW (O, C/groups, kh, kw) filters, ONNX's conventions:
 * dilations of 1 mean none; pads are [top, left, bottom, right].
 */
export interface NativeConvGeometry {
  input: [n: number, c: number, h: number, w: number];
  outChannels: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: [top: number, left: number, bottom: number, right: number];
  groups: number;
  bias: boolean;
}

/** What the addon has run so far in this thread: each cached primitive's oneDNN implementation. */
export interface NativeKernelStats {
  version: string;
  threads: number;
  primitives: number;
  /** Primitives on oneDNN's reference (slow, unvectorized) implementations: should stay 0. */
  refPrimitives: number;
  calls: number;
  /** `<kind>:<implementation>` → how many cached primitives use it (e.g. `conv_fwd:jit:avx2`). */
  implementations: Record<string, number>;
}

/** oneDNN kernels on plain float32 buffers (NCHW activations, OIHW filters, row-major matrices). Synchronous. */
export interface NativeKernels {
  readonly kernels: readonly string[];
  convForward(g: NativeConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null): Float32Array;
  convBackwardData(g: NativeConvGeometry, dy: Float32Array, w: Float32Array): Float32Array;
  /** The filter gradient, and the bias gradient when the geometry has a bias. */
  convBackwardWeights(g: NativeConvGeometry, x: Float32Array, dy: Float32Array): { dw: Float32Array; db: Float32Array | null };
  /** C[m, n] = op(A)·op(B): A is [m, k] ([k, m] when transA), B is [k, n] ([n, k] when transB). */
  matmul(m: number, k: number, n: number, a: Float32Array, b: Float32Array, transA?: boolean, transB?: boolean): Float32Array;
  stats(): NativeKernelStats;
}

/** A primitive the addon created, as reported once per shape. */
export interface NativePrimitiveEvent {
  kind: string;
  implementation: string;
  shape: string;
  /** oneDNN found no optimized kernel for this shape and runs its reference one. */
  reference: boolean;
}

export interface NativeLoadOptions {
  /** oneDNN's (OpenMP) thread count for the calling thread; default: OpenMP's (the cores). */
  threads?: number;
  onPrimitive?: (event: NativePrimitiveEvent) => void;
  /** Where the built addon is; default: native/dnnl/build/Release under the package root. */
  addonPath?: string;
}

export type NativeLoadResult = { kernels: NativeKernels; reason: null } | { kernels: null; reason: string };

export const NATIVE_KERNEL_NAMES = ['conv2d', 'conv2d_backward_data', 'conv2d_backward_weights', 'matmul'] as const;

interface Addon {
  convForward(g: Int32Array, x: Float32Array, w: Float32Array, b: Float32Array | null): Float32Array;
  convBackwardData(g: Int32Array, dy: Float32Array, w: Float32Array): Float32Array;
  convBackwardWeights(g: Int32Array, x: Float32Array, dy: Float32Array): [Float32Array, Float32Array | undefined];
  matmul(m: number, k: number, n: number, transA: boolean, transB: boolean, a: Float32Array, b: Float32Array): Float32Array;
  setThreads(n: number): void;
  info(): NativeKernelStats;
  setListener(fn: ((kind: string, impl: string, shape: string) => void) | null): void;
}

export function defaultAddonPath(): string {
  return join(projectRoot(), 'native', 'dnnl', 'build', 'Release', 'weightsmith_dnnl.node');
}

/** The geometry as the addon's Int32Array: n, c, h, w, o, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, bias. */
export function packGeometry(g: NativeConvGeometry): Int32Array {
  return Int32Array.from([...g.input, g.outChannels, ...g.kernel, ...g.strides, ...g.dilations, ...g.pads, g.groups, g.bias ? 1 : 0]);
}

/**
 * Loads the oneDNN addon for the calling thread (each worker thread loads its own instance with its
 * own primitive cache). Null with the reason when it is not built or libdnnl cannot be loaded.
 */
export function loadNativeKernels(options: NativeLoadOptions = {}): NativeLoadResult {
  const path = options.addonPath ?? defaultAddonPath();
  if (!existsSync(path)) return { kernels: null, reason: `the oneDNN addon is not built (${path}); run npm run build:native` };
  let addon: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(path) as Addon;
  } catch (err) {
    return { kernels: null, reason: `the oneDNN addon does not load: ${(err as Error).message}` };
  }
  if (options.threads !== undefined) addon.setThreads(options.threads);
  const listener = options.onPrimitive;
  addon.setListener(listener ? (kind, implementation, shape) => listener({ kind, implementation, shape, reference: implementation.includes('ref') }) : null);
  return { kernels: wrap(addon), reason: null };
}

function wrap(addon: Addon): NativeKernels {
  return {
    kernels: NATIVE_KERNEL_NAMES,
    convForward: (g, x, w, bias) => addon.convForward(packGeometry(g), x, w, g.bias ? bias : null),
    convBackwardData: (g, dy, w) => addon.convBackwardData(packGeometry(g), dy, w),
    convBackwardWeights: (g, x, dy) => {
      const [dw, db] = addon.convBackwardWeights(packGeometry(g), x, dy);
      return { dw, db: db ?? null };
    },
    matmul: (m, k, n, a, b, transA = false, transB = false) => addon.matmul(m, k, n, transA, transB, a, b),
    stats: () => addon.info(),
  };
}
