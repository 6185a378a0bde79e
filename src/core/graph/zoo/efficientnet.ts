import { bn, convNormAct, makeDivisible, type NormKind, squeezeExcitation } from './blocks';
import type { GraphBuilder } from './graph-builder';
import { adaptiveAvgPool2d, add, flatten, linear } from './nn';

/** EfficientNet B0–B7 and EfficientNetV2 S/M/L (torchvision efficientnet.py). */

/** [fused, expand ratio, kernel, stride, in, out, layers] */
type Stage = [boolean, number, number, number, number, number, number];

const B0: Stage[] = [
  [false, 1, 3, 1, 32, 16, 1],
  [false, 6, 3, 2, 16, 24, 2],
  [false, 6, 5, 2, 24, 40, 2],
  [false, 6, 3, 2, 40, 80, 3],
  [false, 6, 5, 1, 80, 112, 3],
  [false, 6, 5, 2, 112, 192, 4],
  [false, 6, 3, 1, 192, 320, 1],
];

const V2: Record<string, Stage[]> = {
  s: [
    [true, 1, 3, 1, 24, 24, 2],
    [true, 4, 3, 2, 24, 48, 4],
    [true, 4, 3, 2, 48, 64, 4],
    [false, 4, 3, 2, 64, 128, 6],
    [false, 6, 3, 1, 128, 160, 9],
    [false, 6, 3, 2, 160, 256, 15],
  ],
  m: [
    [true, 1, 3, 1, 24, 24, 3],
    [true, 4, 3, 2, 24, 48, 5],
    [true, 4, 3, 2, 48, 80, 5],
    [false, 4, 3, 2, 80, 160, 7],
    [false, 6, 3, 1, 160, 176, 14],
    [false, 6, 3, 2, 176, 304, 18],
    [false, 6, 3, 1, 304, 512, 5],
  ],
  l: [
    [true, 1, 3, 1, 32, 32, 4],
    [true, 4, 3, 2, 32, 64, 7],
    [true, 4, 3, 2, 64, 96, 7],
    [false, 4, 3, 2, 96, 192, 10],
    [false, 6, 3, 1, 192, 224, 19],
    [false, 6, 3, 2, 224, 384, 25],
    [false, 6, 3, 1, 384, 640, 7],
  ],
};

/** width and depth multipliers of B0..B7 */
const SCALES: Record<string, [number, number]> = {
  b0: [1.0, 1.0],
  b1: [1.0, 1.1],
  b2: [1.1, 1.2],
  b3: [1.2, 1.4],
  b4: [1.4, 1.8],
  b5: [1.6, 2.2],
  b6: [1.8, 2.6],
  b7: [2.0, 3.1],
};

function mbConv(b: GraphBuilder, x: string, out: number, expandRatio: number, kernel: number, stride: number, norm: NormKind): string {
  const inp = b.dim(x, 1);
  const expanded = makeDivisible(inp * expandRatio, 8);
  const result = b.module('block', () => {
    let k = 0;
    let y = x;
    if (expanded !== inp) y = convNormAct(b, k++, y, expanded, { kernel: 1, norm, act: 'silu' });
    y = convNormAct(b, k++, y, expanded, { kernel, stride, groups: expanded, norm, act: 'silu' });
    y = squeezeExcitation(b, k++, y, Math.max(1, Math.floor(inp / 4)), 'silu', 'sigmoid');
    return convNormAct(b, k, y, out, { kernel: 1, norm, act: null });
  });
  return stride === 1 && inp === out ? add(b, result, x) : result;
}

function fusedMbConv(b: GraphBuilder, x: string, out: number, expandRatio: number, kernel: number, stride: number, norm: NormKind): string {
  const inp = b.dim(x, 1);
  const expanded = makeDivisible(inp * expandRatio, 8);
  const result = b.module('block', () => {
    if (expanded === inp) return convNormAct(b, 0, x, out, { kernel, stride, norm, act: 'silu' });
    const y = convNormAct(b, 0, x, expanded, { kernel, stride, norm, act: 'silu' });
    return convNormAct(b, 1, y, out, { kernel: 1, norm, act: null });
  });
  return stride === 1 && inp === out ? add(b, result, x) : result;
}

function efficientnetBody(
  b: GraphBuilder,
  numClasses: number,
  stages: Stage[],
  widthMult: number,
  depthMult: number,
  lastChannel: number | null,
  norm: NormKind,
): string {
  const channels = (c: number): number => makeDivisible(c * widthMult, 8);
  let x = b.module('features', () => {
    let y = convNormAct(b, 0, b.input, channels(stages[0][4]), { stride: 2, norm, act: 'silu' });
    stages.forEach(([fused, ratio, kernel, stride, , out, layers], s) => {
      const repeats = Math.ceil(layers * depthMult);
      y = b.module(s + 1, () => {
        let z = y;
        for (let i = 0; i < repeats; i++) {
          const block = fused ? fusedMbConv : mbConv;
          z = b.module(i, () => block(b, z, channels(out), ratio, kernel, i === 0 ? stride : 1, norm));
        }
        return z;
      });
    });
    const last = lastChannel ?? 4 * b.dim(y, 1);
    return convNormAct(b, stages.length + 1, y, last, { kernel: 1, norm, act: 'silu' });
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return b.module('classifier', () => linear(b, 1, x, numClasses));
}

export function efficientnet(b: GraphBuilder, numClasses: number, variant: string): string {
  const [width, depth] = SCALES[variant];
  // B5–B7 were ported from TensorFlow with its BatchNorm settings.
  const norm = ['b5', 'b6', 'b7'].includes(variant) ? bn({ eps: 0.001, momentum: 0.01 }) : bn({});
  return efficientnetBody(b, numClasses, B0, width, depth, null, norm);
}

export function efficientnetV2(b: GraphBuilder, numClasses: number, variant: 's' | 'm' | 'l'): string {
  return efficientnetBody(b, numClasses, V2[variant], 1, 1, 1280, bn({ eps: 0.001 }));
}
