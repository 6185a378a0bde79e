import type { GraphBuilder } from './graph-builder';
import { adaptiveAvgPool2d, add, batchNorm2d, conv2d, flatten, linear, maxPool2d, relu } from './nn';

/** ResNet, ResNeXt and Wide ResNet (torchvision resnet.py). */

export interface ResNetConfig {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  groups?: number;
  widthPerGroup?: number;
}

export const RESNET_CONFIGS: Record<string, ResNetConfig> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
  resnext50_32x4d: { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  resnext101_32x8d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  resnext101_64x4d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
  wide_resnet50_2: { block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 128 },
  wide_resnet101_2: { block: 'bottleneck', layers: [3, 4, 23, 3], widthPerGroup: 128 },
};

/** torchvision's `downsample`: a 1×1 convolution and a BatchNorm when the shape changes, else `x`. */
function shortcut(b: GraphBuilder, x: string, inplanes: number, planes: number, stride: number): string {
  if (stride === 1 && inplanes === planes) return x;
  return b.module('downsample', () => batchNorm2d(b, 1, conv2d(b, 0, x, planes, { kernel: 1, stride, bias: false })));
}

/** torchvision's BasicBlock (post-activation; a projection shortcut where the shape changes). */
export function basicBlock(b: GraphBuilder, x: string, planes: number, stride: number): string {
  let out = conv2d(b, 'conv1', x, planes, { kernel: 3, stride, padding: 1, bias: false });
  out = batchNorm2d(b, 'bn1', out);
  out = relu(b, 'relu', out);
  out = conv2d(b, 'conv2', out, planes, { kernel: 3, padding: 1, bias: false });
  out = batchNorm2d(b, 'bn2', out);
  return relu(b, 'relu', add(b, out, shortcut(b, x, b.dim(x, 1), planes, stride)));
}

export function resnet(b: GraphBuilder, numClasses: number, config: ResNetConfig): string {
  const expansion = config.block === 'basic' ? 1 : 4;
  const groups = config.groups ?? 1;
  const baseWidth = config.widthPerGroup ?? 64;

  const bottleneck = (x: string, planes: number, stride: number): string => {
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    let out = conv2d(b, 'conv1', x, width, { kernel: 1, bias: false });
    out = batchNorm2d(b, 'bn1', out);
    out = relu(b, 'relu', out);
    out = conv2d(b, 'conv2', out, width, { kernel: 3, stride, padding: 1, groups, bias: false });
    out = batchNorm2d(b, 'bn2', out);
    out = relu(b, 'relu', out);
    out = conv2d(b, 'conv3', out, planes * expansion, { kernel: 1, bias: false });
    out = batchNorm2d(b, 'bn3', out);
    return relu(b, 'relu', add(b, out, shortcut(b, x, b.dim(x, 1), planes * expansion, stride)));
  };
  const block = config.block === 'basic' ? (x: string, planes: number, stride: number) => basicBlock(b, x, planes, stride) : bottleneck;

  let x = conv2d(b, 'conv1', b.input, 64, { kernel: 7, stride: 2, padding: 3, bias: false });
  x = batchNorm2d(b, 'bn1', x);
  x = relu(b, 'relu', x);
  x = maxPool2d(b, 'maxpool', x, { kernel: 3, stride: 2, padding: 1 });
  const planes = [64, 128, 256, 512];
  config.layers.forEach((count, stage) => {
    x = b.module(`layer${stage + 1}`, () => {
      let y = x;
      for (let i = 0; i < count; i++) {
        y = b.module(i, () => block(y, planes[stage], i === 0 && stage > 0 ? 2 : 1));
      }
      return y;
    });
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return linear(b, 'fc', x, numClasses);
}
