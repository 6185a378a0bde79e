import { convNormAct } from './blocks';
import type { GraphBuilder } from './graph-builder';
import {
  activation,
  adaptiveAvgPool2d,
  add,
  conv2d,
  flatten,
  layerNorm,
  layerNorm2d,
  linear,
  mul,
  transpose,
} from './nn';

/** ConvNeXt tiny/small/base/large (torchvision convnext.py). */

/** [channels, depth] per stage */
export const CONVNEXT_CONFIGS: Record<string, [number, number][]> = {
  convnext_tiny: [
    [96, 3],
    [192, 3],
    [384, 9],
    [768, 3],
  ],
  convnext_small: [
    [96, 3],
    [192, 3],
    [384, 27],
    [768, 3],
  ],
  convnext_base: [
    [128, 3],
    [256, 3],
    [512, 27],
    [1024, 3],
  ],
  convnext_large: [
    [192, 3],
    [384, 3],
    [768, 27],
    [1536, 3],
  ],
};

const EPS = 1e-6;

function cnBlock(b: GraphBuilder, x: string, dim: number): string {
  const layerScale = b.param('layer_scale', [dim, 1, 1]);
  const branch = b.module('block', () => {
    let y = conv2d(b, 0, x, dim, { kernel: 7, padding: 3, groups: dim });
    y = transpose(b, 1, y, [0, 2, 3, 1]);
    y = layerNorm(b, 2, y, EPS);
    y = linear(b, 3, y, 4 * dim);
    y = activation(b, 'gelu', 4, y);
    y = linear(b, 5, y, dim);
    return transpose(b, 6, y, [0, 3, 1, 2]);
  });
  // Stochastic depth is the identity in eval mode.
  return add(b, mul(b, layerScale, branch), x);
}

export function convnext(b: GraphBuilder, numClasses: number, name: string): string {
  const stages = CONVNEXT_CONFIGS[name];
  let x = b.module('features', () => {
    let y = convNormAct(b, 0, b.input, stages[0][0], {
      kernel: 4,
      stride: 4,
      padding: 0,
      norm: { kind: 'ln2d', eps: EPS },
      act: null,
      bias: true,
    });
    let index = 1;
    stages.forEach(([dim, depth], s) => {
      y = b.module(index++, () => {
        let z = y;
        for (let i = 0; i < depth; i++) z = b.module(i, () => cnBlock(b, z, dim));
        return z;
      });
      if (s === stages.length - 1) return;
      y = b.module(index++, () => {
        const z = layerNorm2d(b, 0, y, EPS);
        return conv2d(b, 1, z, stages[s + 1][0], { kernel: 2, stride: 2 });
      });
    });
    return y;
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  return b.module('classifier', () => {
    let y = layerNorm2d(b, 0, x, EPS);
    y = flatten(b, 1, y);
    return linear(b, 2, y, numClasses);
  });
}
