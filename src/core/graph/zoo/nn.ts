import { type Dim, type GraphBuilder, invalidArgument } from './graph-builder';

/**
 * torch.nn layers as the TorchScript ONNX exporter (opset 17, eval mode) writes them.
 * `name` enters a child module of that name; `null` emits a functional op in the current scope.
 */
export type ModuleName = string | number | null;

export type Pair = number | [number, number];

const f32 = Math.fround;

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function scoped<T>(b: GraphBuilder, name: ModuleName, body: () => T): T {
  return name === null ? body() : b.module(name, body);
}

function pooledSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch drops a last window that would start in the right padding.
  if (ceil && (out - 1) * s >= size + p) out -= 1;
  if (out < 1) throw invalidArgument('image size too small for this architecture', { size, kernel: k });
  return out;
}

export interface ConvOptions {
  kernel: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** nn.Conv2d. */
export function conv2d(b: GraphBuilder, name: ModuleName, x: string, out: number, o: ConvOptions): string {
  const [kh, kw] = pair(o.kernel);
  const [sh, sw] = pair(o.stride ?? 1);
  const [ph, pw] = pair(o.padding ?? 0);
  const [dh, dw] = pair(o.dilation ?? 1);
  const groups = o.groups ?? 1;
  const [n, c, h, w] = b.shape(x);
  const inChannels = c as number;
  return scoped(b, name, () => {
    const weight = b.param('weight', [out, inChannels / groups, kh, kw]);
    const inputs = [x, weight];
    if (o.bias ?? true) inputs.push(b.param('bias', [out]));
    const attrs = {
      dilations: [dh, dw],
      group: groups,
      kernel_shape: [kh, kw],
      pads: [ph, pw, ph, pw],
      strides: [sh, sw],
    };
    const oh = pooledSize(h as number, kh, sh, ph, dh, false);
    const ow = pooledSize(w as number, kw, sw, pw, dw, false);
    return b.op('Conv', inputs, attrs, [n, out, oh, ow]);
  });
}

export interface NormOptions {
  eps?: number;
  momentum?: number;
}

/** nn.BatchNorm2d (eval): running statistics are inputs 3–4; num_batches_tracked is a buffer only. */
export function batchNorm2d(b: GraphBuilder, name: ModuleName, x: string, o: NormOptions = {}): string {
  const channels = b.dim(x, 1);
  return scoped(b, name, () => {
    const weight = b.param('weight', [channels]);
    const bias = b.param('bias', [channels]);
    const mean = b.buffer('running_mean', [channels]);
    const variance = b.buffer('running_var', [channels]);
    b.buffer('num_batches_tracked', [], 'I64');
    const attrs = {
      epsilon: f32(o.eps ?? 1e-5),
      momentum: f32(1 - (o.momentum ?? 0.1)),
      training_mode: 0,
    };
    return b.op('BatchNormalization', [x, weight, bias, mean, variance], attrs, b.shape(x));
  });
}

/** nn.LayerNorm over the last dimension. */
export function layerNorm(b: GraphBuilder, name: ModuleName, x: string, eps: number): string {
  const channels = b.dim(x, -1);
  return scoped(b, name, () => {
    const weight = b.param('weight', [channels]);
    const bias = b.param('bias', [channels]);
    return b.op('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: f32(eps) }, b.shape(x));
  });
}

/** torch.permute / torchvision Permute. */
export function transpose(b: GraphBuilder, name: ModuleName, x: string, perm: number[]): string {
  const shape = b.shape(x);
  return scoped(b, name, () => b.op('Transpose', [x], { perm }, perm.map((p) => shape[p]), b.dtype(x)));
}

/** torchvision LayerNorm2d: channels-last LayerNorm between two permutes. */
export function layerNorm2d(b: GraphBuilder, name: ModuleName, x: string, eps: number): string {
  return scoped(b, name, () => {
    const nhwc = transpose(b, null, x, [0, 2, 3, 1]);
    const normed = layerNorm(b, null, nhwc, eps);
    return transpose(b, null, normed, [0, 3, 1, 2]);
  });
}

/** nn.Linear: Gemm on 2-D inputs, Transpose(W)·MatMul + Add(bias, ·) otherwise. */
export function linear(b: GraphBuilder, name: ModuleName, x: string, out: number, bias = true): string {
  const shape = b.shape(x);
  const inFeatures = b.dim(x, -1);
  const outShape: Dim[] = [...shape.slice(0, -1), out];
  return scoped(b, name, () => {
    const weight = b.param('weight', [out, inFeatures]);
    const biasName = bias ? b.param('bias', [out]) : '';
    if (shape.length === 2 && bias) {
      return b.op('Gemm', [x, weight, biasName], { alpha: 1, beta: 1, transB: 1 }, outShape);
    }
    const wt = b.op('Transpose', [weight], { perm: [1, 0] }, [inFeatures, out]);
    const mm = b.op('MatMul', [x, wt], {}, outShape);
    return bias ? b.op('Add', [biasName, mm], {}, outShape) : mm;
  });
}

export type Activation = 'relu' | 'relu6' | 'hardswish' | 'hardsigmoid' | 'sigmoid' | 'silu' | 'gelu';

/** An activation module (or functional call when `name` is null). */
export function activation(b: GraphBuilder, kind: Activation, name: ModuleName, x: string): string {
  const shape = b.shape(x);
  return scoped(b, name, () => {
    switch (kind) {
      case 'relu':
        return b.op('Relu', [x], {}, shape);
      case 'relu6': {
        const lo = b.constant([0], [], 'F32');
        const hi = b.constant([6], [], 'F32');
        return b.op('Clip', [x, lo, hi], {}, shape);
      }
      case 'hardswish':
        return b.op('HardSwish', [x], {}, shape);
      case 'hardsigmoid':
        return b.op('HardSigmoid', [x], { alpha: f32(1 / 6) }, shape);
      case 'sigmoid':
        return b.op('Sigmoid', [x], {}, shape);
      case 'silu': {
        const s = b.op('Sigmoid', [x], {}, shape);
        return b.op('Mul', [x, s], {}, shape);
      }
      case 'gelu': {
        const d = b.op('Div', [x, b.constant([f32(Math.SQRT2)], [], 'F32')], {}, shape);
        const e = b.op('Erf', [d], {}, shape);
        const a = b.op('Add', [e, b.constant([1], [], 'F32')], {}, shape);
        const m = b.op('Mul', [x, a], {}, shape);
        return b.op('Mul', [m, b.constant([0.5], [], 'F32')], {}, shape);
      }
    }
  });
}

export const relu = (b: GraphBuilder, name: ModuleName, x: string): string => activation(b, 'relu', name, x);

export interface PoolOptions {
  kernel: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

function poolShape(b: GraphBuilder, x: string, o: PoolOptions): Dim[] {
  const [kh, kw] = pair(o.kernel);
  const [sh, sw] = pair(o.stride ?? o.kernel);
  const [ph, pw] = pair(o.padding ?? 0);
  const [n, c, h, w] = b.shape(x);
  const ceil = o.ceilMode ?? false;
  return [n, c, pooledSize(h as number, kh, sh, ph, 1, ceil), pooledSize(w as number, kw, sw, pw, 1, ceil)];
}

/** nn.MaxPool2d (stride defaults to the kernel, as in PyTorch). */
export function maxPool2d(b: GraphBuilder, name: ModuleName, x: string, o: PoolOptions): string {
  const [ph, pw] = pair(o.padding ?? 0);
  const attrs = {
    ceil_mode: o.ceilMode ? 1 : 0,
    dilations: [1, 1],
    kernel_shape: pair(o.kernel),
    pads: [ph, pw, ph, pw],
    strides: pair(o.stride ?? o.kernel),
  };
  const shape = poolShape(b, x, o);
  return scoped(b, name, () => b.op('MaxPool', [x], attrs, shape));
}

/** nn.AvgPool2d / F.avg_pool2d with count_include_pad=True. */
export function avgPool2d(b: GraphBuilder, name: ModuleName, x: string, o: PoolOptions): string {
  const [ph, pw] = pair(o.padding ?? 0);
  const attrs = {
    ceil_mode: o.ceilMode ? 1 : 0,
    count_include_pad: 1,
    kernel_shape: pair(o.kernel),
    pads: [ph, pw, ph, pw],
    strides: pair(o.stride ?? o.kernel),
  };
  const shape = poolShape(b, x, o);
  return scoped(b, name, () => b.op('AveragePool', [x], attrs, shape));
}

/**
 * nn.AdaptiveAvgPool2d: GlobalAveragePool for 1×1; otherwise the exporter's fixed AveragePool,
 * which exists only when the input size is a multiple of the output size.
 */
export function adaptiveAvgPool2d(b: GraphBuilder, name: ModuleName, x: string, out: Pair): string {
  const [oh, ow] = pair(out);
  const [n, c, h, w] = b.shape(x) as [Dim, Dim, number, number];
  return scoped(b, name, () => {
    if (oh === 1 && ow === 1) return b.op('GlobalAveragePool', [x], {}, [n, c, 1, 1]);
    if (h % oh !== 0 || w % ow !== 0) {
      throw invalidArgument(`adaptive pooling from ${h}x${w} to ${oh}x${ow} needs a multiple of the output size`, {
        input: [h, w],
        output: [oh, ow],
      });
    }
    const kernel = [h / oh, w / ow];
    return b.op('AveragePool', [x], { kernel_shape: kernel, strides: kernel }, [n, c, oh, ow]);
  });
}

/** torch.flatten(x, 1) / nn.Flatten(). */
export function flatten(b: GraphBuilder, name: ModuleName, x: string): string {
  const [n, ...rest] = b.shape(x);
  const features = (rest as number[]).reduce((p, d) => p * d, 1);
  return scoped(b, name, () => b.op('Flatten', [x], { axis: 1 }, [n, features]));
}

/** x.mean(axes) as ReduceMean (opset 17 keeps axes as an attribute). */
export function reduceMean(b: GraphBuilder, x: string, axes: number[], keepdims: boolean): string {
  const shape = b.shape(x);
  const out = keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
  return b.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 }, out);
}

/** NumPy-style broadcast of two shapes (a symbolic dim wins over 1). */
export function broadcast(a: Dim[], c: Dim[]): Dim[] {
  const rank = Math.max(a.length, c.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const dc = c[c.length - rank + i] ?? 1;
    out.push(da === 1 ? dc : da);
  }
  return out;
}

export function add(b: GraphBuilder, x: string, y: string): string {
  return b.op('Add', [x, y], {}, broadcast(b.shape(x), b.shape(y)));
}

export function mul(b: GraphBuilder, x: string, y: string): string {
  return b.op('Mul', [x, y], {}, broadcast(b.shape(x), b.shape(y)));
}

/** torch.cat along the channel axis. */
export function concat(b: GraphBuilder, xs: string[], axis = 1): string {
  const shape = [...b.shape(xs[0])];
  shape[axis] = xs.reduce((sum, x) => sum + b.dim(x, axis), 0);
  return b.op('Concat', xs, { axis }, shape);
}

