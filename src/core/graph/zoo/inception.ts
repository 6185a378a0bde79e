import type { GraphBuilder } from './graph-builder';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  batchNorm2d,
  concat,
  conv2d,
  flatten,
  linear,
  maxPool2d,
  type ModuleName,
  type Pair,
  relu,
} from './nn';

/**
 * GoogLeNet and Inception v3 (torchvision googlenet.py, inception.py) in their inference form:
 * aux_logits=False, transform_input=False. Every torch.cat is its own Concat, including
 * InceptionE's inner ones (which the TorchScript exporter would merge into the outer Concat).
 */

/** BasicConv2d: conv without bias, BatchNorm (eps 0.001), functional ReLU. */
function basicConv(
  b: GraphBuilder,
  name: ModuleName,
  x: string,
  out: number,
  kernel: Pair,
  o: { stride?: Pair; padding?: Pair } = {},
): string {
  const body = (): string => {
    let y = conv2d(b, 'conv', x, out, { kernel, stride: o.stride, padding: o.padding, bias: false });
    y = batchNorm2d(b, 'bn', y, { eps: 0.001 });
    return relu(b, null, y);
  };
  return name === null ? body() : b.module(name, body);
}

type GoogLeNetInception = [number, number, number, number, number, number];

const GOOGLENET_BLOCKS: [string, GoogLeNetInception][] = [
  ['inception3a', [64, 96, 128, 16, 32, 32]],
  ['inception3b', [128, 128, 192, 32, 96, 64]],
  ['maxpool3', [3, 0, 0, 0, 0, 0]],
  ['inception4a', [192, 96, 208, 16, 48, 64]],
  ['inception4b', [160, 112, 224, 24, 64, 64]],
  ['inception4c', [128, 128, 256, 24, 64, 64]],
  ['inception4d', [112, 144, 288, 32, 64, 64]],
  ['inception4e', [256, 160, 320, 32, 128, 128]],
  ['maxpool4', [2, 0, 0, 0, 0, 0]],
  ['inception5a', [256, 160, 320, 32, 128, 128]],
  ['inception5b', [384, 192, 384, 48, 128, 128]],
];

export function googlenet(b: GraphBuilder, numClasses: number): string {
  const inception = (x: string, [c1, c3r, c3, c5r, c5, pool]: GoogLeNetInception): string => {
    const b1 = basicConv(b, 'branch1', x, c1, 1);
    const b2 = b.module('branch2', () => basicConv(b, 1, basicConv(b, 0, x, c3r, 1), c3, 3, { padding: 1 }));
    // torchvision keeps the original 3x3 here (a known deviation from the paper's 5x5).
    const b3 = b.module('branch3', () => basicConv(b, 1, basicConv(b, 0, x, c5r, 1), c5, 3, { padding: 1 }));
    const b4 = b.module('branch4', () => {
      const p = maxPool2d(b, 0, x, { kernel: 3, stride: 1, padding: 1, ceilMode: true });
      return basicConv(b, 1, p, pool, 1);
    });
    return concat(b, [b1, b2, b3, b4]);
  };

  let x = basicConv(b, 'conv1', b.input, 64, 7, { stride: 2, padding: 3 });
  x = maxPool2d(b, 'maxpool1', x, { kernel: 3, stride: 2, ceilMode: true });
  x = basicConv(b, 'conv2', x, 64, 1);
  x = basicConv(b, 'conv3', x, 192, 3, { padding: 1 });
  x = maxPool2d(b, 'maxpool2', x, { kernel: 3, stride: 2, ceilMode: true });
  for (const [name, cfg] of GOOGLENET_BLOCKS) {
    x = name.startsWith('maxpool')
      ? maxPool2d(b, name, x, { kernel: cfg[0], stride: 2, ceilMode: true })
      : b.module(name, () => inception(x, cfg));
  }
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return linear(b, 'fc', x, numClasses);
}

const pool3 = { kernel: 3, stride: 1, padding: 1 };

function inceptionA(b: GraphBuilder, x: string, poolFeatures: number): string {
  const b1 = basicConv(b, 'branch1x1', x, 64, 1);
  const b5 = basicConv(b, 'branch5x5_2', basicConv(b, 'branch5x5_1', x, 48, 1), 64, 5, { padding: 2 });
  let b3 = basicConv(b, 'branch3x3dbl_1', x, 64, 1);
  b3 = basicConv(b, 'branch3x3dbl_2', b3, 96, 3, { padding: 1 });
  b3 = basicConv(b, 'branch3x3dbl_3', b3, 96, 3, { padding: 1 });
  const bp = basicConv(b, 'branch_pool', avgPool2d(b, null, x, pool3), poolFeatures, 1);
  return concat(b, [b1, b5, b3, bp]);
}

function inceptionB(b: GraphBuilder, x: string): string {
  const b3 = basicConv(b, 'branch3x3', x, 384, 3, { stride: 2 });
  let bd = basicConv(b, 'branch3x3dbl_1', x, 64, 1);
  bd = basicConv(b, 'branch3x3dbl_2', bd, 96, 3, { padding: 1 });
  bd = basicConv(b, 'branch3x3dbl_3', bd, 96, 3, { stride: 2 });
  const bp = maxPool2d(b, null, x, { kernel: 3, stride: 2 });
  return concat(b, [b3, bd, bp]);
}

function inceptionC(b: GraphBuilder, x: string, c7: number): string {
  const row = { padding: [0, 3] as Pair };
  const col = { padding: [3, 0] as Pair };
  const b1 = basicConv(b, 'branch1x1', x, 192, 1);
  let b7 = basicConv(b, 'branch7x7_1', x, c7, 1);
  b7 = basicConv(b, 'branch7x7_2', b7, c7, [1, 7], row);
  b7 = basicConv(b, 'branch7x7_3', b7, 192, [7, 1], col);
  let bd = basicConv(b, 'branch7x7dbl_1', x, c7, 1);
  bd = basicConv(b, 'branch7x7dbl_2', bd, c7, [7, 1], col);
  bd = basicConv(b, 'branch7x7dbl_3', bd, c7, [1, 7], row);
  bd = basicConv(b, 'branch7x7dbl_4', bd, c7, [7, 1], col);
  bd = basicConv(b, 'branch7x7dbl_5', bd, 192, [1, 7], row);
  const bp = basicConv(b, 'branch_pool', avgPool2d(b, null, x, pool3), 192, 1);
  return concat(b, [b1, b7, bd, bp]);
}

function inceptionD(b: GraphBuilder, x: string): string {
  const b3 = basicConv(b, 'branch3x3_2', basicConv(b, 'branch3x3_1', x, 192, 1), 320, 3, { stride: 2 });
  let b7 = basicConv(b, 'branch7x7x3_1', x, 192, 1);
  b7 = basicConv(b, 'branch7x7x3_2', b7, 192, [1, 7], { padding: [0, 3] });
  b7 = basicConv(b, 'branch7x7x3_3', b7, 192, [7, 1], { padding: [3, 0] });
  b7 = basicConv(b, 'branch7x7x3_4', b7, 192, 3, { stride: 2 });
  const bp = maxPool2d(b, null, x, { kernel: 3, stride: 2 });
  return concat(b, [b3, b7, bp]);
}

function inceptionE(b: GraphBuilder, x: string): string {
  const b1 = basicConv(b, 'branch1x1', x, 320, 1);
  const s3 = basicConv(b, 'branch3x3_1', x, 384, 1);
  const b3 = concat(b, [
    basicConv(b, 'branch3x3_2a', s3, 384, [1, 3], { padding: [0, 1] }),
    basicConv(b, 'branch3x3_2b', s3, 384, [3, 1], { padding: [1, 0] }),
  ]);
  let sd = basicConv(b, 'branch3x3dbl_1', x, 448, 1);
  sd = basicConv(b, 'branch3x3dbl_2', sd, 384, 3, { padding: 1 });
  const bd = concat(b, [
    basicConv(b, 'branch3x3dbl_3a', sd, 384, [1, 3], { padding: [0, 1] }),
    basicConv(b, 'branch3x3dbl_3b', sd, 384, [3, 1], { padding: [1, 0] }),
  ]);
  const bp = basicConv(b, 'branch_pool', avgPool2d(b, null, x, pool3), 192, 1);
  return concat(b, [b1, b3, bd, bp]);
}

export function inceptionV3(b: GraphBuilder, numClasses: number): string {
  let x = basicConv(b, 'Conv2d_1a_3x3', b.input, 32, 3, { stride: 2 });
  x = basicConv(b, 'Conv2d_2a_3x3', x, 32, 3);
  x = basicConv(b, 'Conv2d_2b_3x3', x, 64, 3, { padding: 1 });
  x = maxPool2d(b, 'maxpool1', x, { kernel: 3, stride: 2 });
  x = basicConv(b, 'Conv2d_3b_1x1', x, 80, 1);
  x = basicConv(b, 'Conv2d_4a_3x3', x, 192, 3);
  x = maxPool2d(b, 'maxpool2', x, { kernel: 3, stride: 2 });
  x = b.module('Mixed_5b', () => inceptionA(b, x, 32));
  x = b.module('Mixed_5c', () => inceptionA(b, x, 64));
  x = b.module('Mixed_5d', () => inceptionA(b, x, 64));
  x = b.module('Mixed_6a', () => inceptionB(b, x));
  x = b.module('Mixed_6b', () => inceptionC(b, x, 128));
  x = b.module('Mixed_6c', () => inceptionC(b, x, 160));
  x = b.module('Mixed_6d', () => inceptionC(b, x, 160));
  x = b.module('Mixed_6e', () => inceptionC(b, x, 192));
  x = b.module('Mixed_7a', () => inceptionD(b, x));
  x = b.module('Mixed_7b', () => inceptionE(b, x));
  x = b.module('Mixed_7c', () => inceptionE(b, x));
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return linear(b, 'fc', x, numClasses);
}
