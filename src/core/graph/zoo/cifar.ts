import type { GraphBuilder } from './graph-builder';
import { adaptiveAvgPool2d, add, batchNorm2d, conv2d, flatten, linear, relu } from './nn';
import { basicBlock } from './resnet';

/**
 * Small ResNets for 32×32 (and 28×28) images: three stages of 3×3 convolutions, the second and third
 * starting with stride 2, global average pooling and a linear classifier. No max-pool, no 7×7 stem.
 */

/** CIFAR ResNet-(6n+2): BasicBlocks per stage. */
export const CIFAR_RESNET_BLOCKS: Record<string, number> = { resnet20: 3, resnet56: 9 };

/** Wide ResNet-depth-k: (depth − 4) / 6 blocks per stage, widths 16k, 32k, 64k. */
export const WIDE_RESNET_CONFIGS: Record<string, { depth: number; widen: number }> = {
  wrn16_4: { depth: 16, widen: 4 },
};

/**
 * CIFAR ResNet: a 3×3 stem of 16 channels with BatchNorm and ReLU, then 16/32/64-channel stages of
 * `n` torchvision BasicBlocks each. Where a block changes the shape, its shortcut is the projection
 * ("option B": a 1×1 convolution with the stride and a BatchNorm, `downsample.0` / `downsample.1`)
 * rather than the zero-padded identity ("option A"), so the state_dict names are torchvision's.
 */
export function cifarResnet(b: GraphBuilder, numClasses: number, n: number): string {
  let x = conv2d(b, 'conv1', b.input, 16, { kernel: 3, padding: 1, bias: false });
  x = batchNorm2d(b, 'bn1', x);
  x = relu(b, 'relu', x);
  [16, 32, 64].forEach((planes, stage) => {
    x = b.module(`layer${stage + 1}`, () => {
      let y = x;
      for (let i = 0; i < n; i++) y = b.module(i, () => basicBlock(b, y, planes, i === 0 && stage > 0 ? 2 : 1));
      return y;
    });
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return linear(b, 'fc', x, numClasses);
}

/**
 * Pre-activation block of the Wide ResNet paper (BN-ReLU-conv3×3 twice, no dropout). Where the
 * shape changes, the shortcut is a bias-free 1×1 convolution (`shortcut`) of the activated input.
 */
function wideBlock(b: GraphBuilder, x: string, planes: number, stride: number): string {
  const project = stride !== 1 || b.dim(x, 1) !== planes;
  const act = relu(b, 'relu', batchNorm2d(b, 'bn1', x));
  let out = conv2d(b, 'conv1', act, planes, { kernel: 3, stride, padding: 1, bias: false });
  out = relu(b, 'relu', batchNorm2d(b, 'bn2', out));
  out = conv2d(b, 'conv2', out, planes, { kernel: 3, padding: 1, bias: false });
  const identity = project ? conv2d(b, 'shortcut', act, planes, { kernel: 1, stride, bias: false }) : x;
  return add(b, out, identity);
}

/**
 * Wide ResNet: a 3×3 stem of 16 channels (no BatchNorm: every block normalizes its own input), three
 * stages of pre-activation blocks, a final BatchNorm and ReLU (`bn1`), global average pooling, `fc`.
 */
export function wideResnet(b: GraphBuilder, numClasses: number, depth: number, widen: number): string {
  const n = (depth - 4) / 6;
  let x = conv2d(b, 'conv1', b.input, 16, { kernel: 3, padding: 1, bias: false });
  [16, 32, 64].forEach((width, stage) => {
    x = b.module(`layer${stage + 1}`, () => {
      let y = x;
      for (let i = 0; i < n; i++) y = b.module(i, () => wideBlock(b, y, width * widen, i === 0 && stage > 0 ? 2 : 1));
      return y;
    });
  });
  x = relu(b, 'relu', batchNorm2d(b, 'bn1', x));
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return linear(b, 'fc', x, numClasses);
}
