import type { GraphBuilder } from './graph-builder';
import {
  type Activation,
  activation,
  adaptiveAvgPool2d,
  batchNorm2d,
  conv2d,
  layerNorm2d,
  type ModuleName,
  mul,
  type NormOptions,
  type Pair,
} from './nn';

/** Building blocks shared by several torchvision families (torchvision.ops.misc and friends). */

/** torchvision `_make_divisible`: round to a multiple of `divisor`, never below 90 % of `v`. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  let out = Math.max(min, Math.floor(v + divisor / 2) - (Math.floor(v + divisor / 2) % divisor));
  if (out < 0.9 * v) out += divisor;
  return out;
}

export type NormKind = { kind: 'bn'; eps?: number; momentum?: number } | { kind: 'ln2d'; eps: number } | null;

export const BN: NormKind = { kind: 'bn' };

export function bn(o: NormOptions): NormKind {
  return { kind: 'bn', ...o };
}

export interface ConvNormActOptions {
  kernel?: Pair;
  stride?: Pair;
  padding?: Pair;
  groups?: number;
  dilation?: number;
  norm?: NormKind;
  act?: Activation | null;
  /** Defaults to "no norm layer", as in torchvision. */
  bias?: boolean;
}

/**
 * torchvision Conv2dNormActivation: `0` conv (bias only without norm), `1` norm, then the
 * activation; padding defaults to (k − 1) / 2 · dilation.
 */
export function convNormAct(
  b: GraphBuilder,
  name: ModuleName,
  x: string,
  out: number,
  o: ConvNormActOptions = {},
): string {
  const kernel = o.kernel ?? 3;
  const dilation = o.dilation ?? 1;
  const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  const padding = o.padding ?? [((kh - 1) / 2) * dilation, ((kw - 1) / 2) * dilation];
  const norm = o.norm === undefined ? BN : o.norm;
  const act = o.act === undefined ? 'relu' : o.act;
  const body = (): string => {
    let y = conv2d(b, 0, x, out, {
      kernel,
      stride: o.stride,
      padding,
      dilation,
      groups: o.groups,
      bias: o.bias ?? norm === null,
    });
    let index = 1;
    if (norm?.kind === 'bn') y = batchNorm2d(b, index++, y, norm);
    else if (norm?.kind === 'ln2d') y = layerNorm2d(b, index++, y, norm.eps);
    if (act) y = activation(b, act, index, y);
    return y;
  };
  return name === null ? body() : b.module(name, body);
}

/** torchvision SqueezeExcitation: avgpool, fc1, activation, fc2, scale_activation, then scale · x. */
export function squeezeExcitation(
  b: GraphBuilder,
  name: ModuleName,
  x: string,
  squeezeChannels: number,
  act: Activation = 'relu',
  scaleAct: Activation = 'sigmoid',
): string {
  const channels = b.dim(x, 1);
  const body = (): string => {
    let s = adaptiveAvgPool2d(b, 'avgpool', x, 1);
    s = conv2d(b, 'fc1', s, squeezeChannels, { kernel: 1 });
    s = activation(b, act, 'activation', s);
    s = conv2d(b, 'fc2', s, channels, { kernel: 1 });
    s = activation(b, scaleAct, 'scale_activation', s);
    return mul(b, s, x);
  };
  return name === null ? body() : b.module(name, body);
}
