import type { GraphBuilder } from './graph-builder';
import {
  adaptiveAvgPool2d,
  batchNorm2d,
  concat,
  conv2d,
  flatten,
  linear,
  maxPool2d,
  relu,
} from './nn';

/** AlexNet, VGG and SqueezeNet (torchvision alexnet.py, vgg.py, squeezenet.py). */

export function alexnet(b: GraphBuilder, numClasses: number): string {
  let x = b.module('features', () => {
    let y = conv2d(b, 0, b.input, 64, { kernel: 11, stride: 4, padding: 2 });
    y = relu(b, 1, y);
    y = maxPool2d(b, 2, y, { kernel: 3, stride: 2 });
    y = conv2d(b, 3, y, 192, { kernel: 5, padding: 2 });
    y = relu(b, 4, y);
    y = maxPool2d(b, 5, y, { kernel: 3, stride: 2 });
    y = conv2d(b, 6, y, 384, { kernel: 3, padding: 1 });
    y = relu(b, 7, y);
    y = conv2d(b, 8, y, 256, { kernel: 3, padding: 1 });
    y = relu(b, 9, y);
    y = conv2d(b, 10, y, 256, { kernel: 3, padding: 1 });
    y = relu(b, 11, y);
    return maxPool2d(b, 12, y, { kernel: 3, stride: 2 });
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 6);
  x = flatten(b, null, x);
  return b.module('classifier', () => {
    // 0 and 3 are Dropout, absent in eval.
    let y = linear(b, 1, x, 4096);
    y = relu(b, 2, y);
    y = linear(b, 4, y, 4096);
    y = relu(b, 5, y);
    return linear(b, 6, y, numClasses);
  });
}

const M = 'M';
export const VGG_CONFIGS: Record<string, (number | 'M')[]> = {
  A: [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
  B: [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
  D: [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M],
  E: [64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M],
};

export function vgg(b: GraphBuilder, numClasses: number, config: string, batchNorm: boolean): string {
  let x = b.module('features', () => {
    let y = b.input;
    let index = 0;
    for (const v of VGG_CONFIGS[config]) {
      if (v === M) {
        y = maxPool2d(b, index++, y, { kernel: 2, stride: 2 });
        continue;
      }
      y = conv2d(b, index++, y, v, { kernel: 3, padding: 1 });
      if (batchNorm) y = batchNorm2d(b, index++, y);
      y = relu(b, index++, y);
    }
    return y;
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 7);
  x = flatten(b, null, x);
  return b.module('classifier', () => {
    let y = linear(b, 0, x, 4096);
    y = relu(b, 1, y);
    y = linear(b, 3, y, 4096);
    y = relu(b, 4, y);
    return linear(b, 6, y, numClasses);
  });
}

function fire(b: GraphBuilder, index: number, x: string, squeeze: number, e1: number, e3: number): string {
  return b.module(index, () => {
    let s = conv2d(b, 'squeeze', x, squeeze, { kernel: 1 });
    s = relu(b, 'squeeze_activation', s);
    let a = conv2d(b, 'expand1x1', s, e1, { kernel: 1 });
    a = relu(b, 'expand1x1_activation', a);
    let c = conv2d(b, 'expand3x3', s, e3, { kernel: 3, padding: 1 });
    c = relu(b, 'expand3x3_activation', c);
    return concat(b, [a, c]);
  });
}

export function squeezenet(b: GraphBuilder, numClasses: number, version: '1_0' | '1_1'): string {
  const pool = { kernel: 3, stride: 2, ceilMode: true };
  let x = b.module('features', () => {
    let y: string;
    if (version === '1_0') {
      y = conv2d(b, 0, b.input, 96, { kernel: 7, stride: 2 });
      y = relu(b, 1, y);
      y = maxPool2d(b, 2, y, pool);
      y = fire(b, 3, y, 16, 64, 64);
      y = fire(b, 4, y, 16, 64, 64);
      y = fire(b, 5, y, 32, 128, 128);
      y = maxPool2d(b, 6, y, pool);
      y = fire(b, 7, y, 32, 128, 128);
      y = fire(b, 8, y, 48, 192, 192);
      y = fire(b, 9, y, 48, 192, 192);
      y = fire(b, 10, y, 64, 256, 256);
      y = maxPool2d(b, 11, y, pool);
      return fire(b, 12, y, 64, 256, 256);
    }
    y = conv2d(b, 0, b.input, 64, { kernel: 3, stride: 2 });
    y = relu(b, 1, y);
    y = maxPool2d(b, 2, y, pool);
    y = fire(b, 3, y, 16, 64, 64);
    y = fire(b, 4, y, 16, 64, 64);
    y = maxPool2d(b, 5, y, pool);
    y = fire(b, 6, y, 32, 128, 128);
    y = fire(b, 7, y, 32, 128, 128);
    y = maxPool2d(b, 8, y, pool);
    y = fire(b, 9, y, 48, 192, 192);
    y = fire(b, 10, y, 48, 192, 192);
    y = fire(b, 11, y, 64, 256, 256);
    return fire(b, 12, y, 64, 256, 256);
  });
  x = b.module('classifier', () => {
    let y = conv2d(b, 1, x, numClasses, { kernel: 1 });
    y = relu(b, 2, y);
    return adaptiveAvgPool2d(b, 3, y, 1);
  });
  return flatten(b, null, x);
}
