import { bn, convNormAct, makeDivisible, squeezeExcitation } from './blocks';
import type { GraphBuilder } from './graph-builder';
import { activation, adaptiveAvgPool2d, add, batchNorm2d, conv2d, flatten, linear, reduceMean, relu } from './nn';

/** MobileNetV2, MobileNetV3 and MNASNet (torchvision mobilenetv2.py, mobilenetv3.py, mnasnet.py). */

export function mobilenetV2(b: GraphBuilder, numClasses: number): string {
  const settings = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  const act = 'relu6' as const;
  let x = b.module('features', () => {
    let index = 0;
    let y = convNormAct(b, index++, b.input, 32, { stride: 2, act });
    for (const [t, c, n, s] of settings) {
      const out = makeDivisible(c, 8);
      for (let i = 0; i < n; i++) {
        const input = y;
        const inp = b.dim(input, 1);
        const stride = i === 0 ? s : 1;
        const hidden = Math.round(inp * t);
        y = b.module(index++, () => {
          const branch = b.module('conv', () => {
            let k = 0;
            let z = input;
            if (t !== 1) z = convNormAct(b, k++, z, hidden, { kernel: 1, act });
            z = convNormAct(b, k++, z, hidden, { stride, groups: hidden, act });
            z = conv2d(b, k++, z, out, { kernel: 1, bias: false });
            return batchNorm2d(b, k, z);
          });
          return stride === 1 && inp === out ? add(b, input, branch) : branch;
        });
      }
    }
    return convNormAct(b, index, y, 1280, { kernel: 1, act });
  });
  x = adaptiveAvgPool2d(b, null, x, 1);
  x = flatten(b, null, x);
  return b.module('classifier', () => linear(b, 1, x, numClasses));
}

type V3Row = [number, number, number, number, boolean, 'RE' | 'HS', number];

const V3_LARGE: V3Row[] = [
  [16, 3, 16, 16, false, 'RE', 1],
  [16, 3, 64, 24, false, 'RE', 2],
  [24, 3, 72, 24, false, 'RE', 1],
  [24, 5, 72, 40, true, 'RE', 2],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 5, 120, 40, true, 'RE', 1],
  [40, 3, 240, 80, false, 'HS', 2],
  [80, 3, 200, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 480, 112, true, 'HS', 1],
  [112, 3, 672, 112, true, 'HS', 1],
  [112, 5, 672, 160, true, 'HS', 2],
  [160, 5, 960, 160, true, 'HS', 1],
  [160, 5, 960, 160, true, 'HS', 1],
];

const V3_SMALL: V3Row[] = [
  [16, 3, 16, 16, true, 'RE', 2],
  [16, 3, 72, 24, false, 'RE', 2],
  [24, 3, 88, 24, false, 'RE', 1],
  [24, 5, 96, 40, true, 'HS', 2],
  [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 120, 48, true, 'HS', 1],
  [48, 5, 144, 48, true, 'HS', 1],
  [48, 5, 288, 96, true, 'HS', 2],
  [96, 5, 576, 96, true, 'HS', 1],
  [96, 5, 576, 96, true, 'HS', 1],
];

export function mobilenetV3(b: GraphBuilder, numClasses: number, size: 'large' | 'small'): string {
  const rows = size === 'large' ? V3_LARGE : V3_SMALL;
  const lastChannel = size === 'large' ? 1280 : 1024;
  const norm = bn({ eps: 0.001, momentum: 0.01 });
  let x = b.module('features', () => {
    let y = convNormAct(b, 0, b.input, 16, { stride: 2, norm, act: 'hardswish' });
    rows.forEach(([, kernel, expandedRaw, outRaw, useSe, nl, stride], i) => {
      const input = y;
      const inp = b.dim(input, 1);
      const expanded = makeDivisible(expandedRaw, 8);
      const out = makeDivisible(outRaw, 8);
      const act = nl === 'HS' ? 'hardswish' : 'relu';
      y = b.module(i + 1, () => {
        const result = b.module('block', () => {
          let k = 0;
          let z = input;
          if (expanded !== inp) z = convNormAct(b, k++, z, expanded, { kernel: 1, norm, act });
          z = convNormAct(b, k++, z, expanded, { kernel, stride, groups: expanded, norm, act });
          if (useSe) z = squeezeExcitation(b, k++, z, makeDivisible(Math.floor(expanded / 4), 8), 'relu', 'hardsigmoid');
          return convNormAct(b, k, z, out, { kernel: 1, norm, act: null });
        });
        return stride === 1 && inp === out ? add(b, result, input) : result;
      });
    });
    return convNormAct(b, rows.length + 1, y, 6 * b.dim(y, 1), { kernel: 1, norm, act: 'hardswish' });
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return b.module('classifier', () => {
    let y = linear(b, 0, x, lastChannel);
    y = activation(b, 'hardswish', 1, y);
    return linear(b, 3, y, numClasses);
  });
}

/** torchvision MNASNet `_round_to_multiple_of` (round-up bias 0.9). */
function roundToMultipleOf(value: number, divisor: number): number {
  const rounded = Math.max(divisor, Math.floor((Math.floor(value + divisor / 2)) / divisor) * divisor);
  return rounded >= 0.9 * value ? rounded : rounded + divisor;
}

export function mnasnet(b: GraphBuilder, numClasses: number, alpha: number): string {
  const depths = [32, 16, 24, 40, 80, 96, 192, 320].map((d) => roundToMultipleOf(d * alpha, 8));
  const norm = { momentum: 1 - 0.9997 };
  const stacks: [number, number, number, number][] = [
    [3, 2, 3, 3],
    [5, 2, 3, 3],
    [5, 2, 6, 3],
    [3, 1, 6, 2],
    [5, 2, 6, 4],
    [3, 1, 6, 1],
  ];
  let x = b.module('layers', () => {
    let y = conv2d(b, 0, b.input, depths[0], { kernel: 3, stride: 2, padding: 1, bias: false });
    y = batchNorm2d(b, 1, y, norm);
    y = relu(b, 2, y);
    y = conv2d(b, 3, y, depths[0], { kernel: 3, padding: 1, groups: depths[0], bias: false });
    y = batchNorm2d(b, 4, y, norm);
    y = relu(b, 5, y);
    y = conv2d(b, 6, y, depths[1], { kernel: 1, bias: false });
    y = batchNorm2d(b, 7, y, norm);
    stacks.forEach(([kernel, stride, expansion, repeats], s) => {
      y = b.module(8 + s, () => {
        let z = y;
        for (let r = 0; r < repeats; r++) {
          const input = z;
          const inp = b.dim(input, 1);
          const out = depths[s + 2];
          const st = r === 0 ? stride : 1;
          const mid = inp * expansion;
          z = b.module(r, () => {
            const branch = b.module('layers', () => {
              let w = conv2d(b, 0, input, mid, { kernel: 1, bias: false });
              w = batchNorm2d(b, 1, w, norm);
              w = relu(b, 2, w);
              w = conv2d(b, 3, w, mid, { kernel, stride: st, padding: Math.floor(kernel / 2), groups: mid, bias: false });
              w = batchNorm2d(b, 4, w, norm);
              w = relu(b, 5, w);
              w = conv2d(b, 6, w, out, { kernel: 1, bias: false });
              return batchNorm2d(b, 7, w, norm);
            });
            return inp === out && st === 1 ? add(b, branch, input) : branch;
          });
        }
        return z;
      });
    });
    y = conv2d(b, 14, y, 1280, { kernel: 1, bias: false });
    y = batchNorm2d(b, 15, y, norm);
    return relu(b, 16, y);
  });
  x = reduceMean(b, x, [2, 3], false);
  return b.module('classifier', () => linear(b, 1, x, numClasses));
}
