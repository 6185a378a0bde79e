import { BATCH, type GraphBuilder } from './graph-builder';
import { batchNorm2d, concat, conv2d, linear, maxPool2d, reduceMean, relu } from './nn';

/**
 * ShuffleNetV2 x0.5 … x2.0 (torchvision shufflenetv2.py). `x.chunk(2, 1)` is a Split and the
 * channel shuffle a Reshape/Transpose/Reshape with constant shapes (-1 keeps the batch dynamic);
 * no ONNX fixture pins the exporter's own shape arithmetic for this family.
 */

export const SHUFFLENET_CHANNELS: Record<string, number[]> = {
  shufflenet_v2_x0_5: [24, 48, 96, 192, 1024],
  shufflenet_v2_x1_0: [24, 116, 232, 464, 1024],
  shufflenet_v2_x1_5: [24, 176, 352, 704, 1024],
  shufflenet_v2_x2_0: [24, 244, 488, 976, 2048],
};

const REPEATS = [4, 8, 4];

function channelShuffle(b: GraphBuilder, x: string): string {
  const [, c, h, w] = b.shape(x) as [string, number, number, number];
  const grouped = b.op('Reshape', [x, b.constant([-1, 2, c / 2, h, w], [5], 'I64')], { allowzero: 0 }, [BATCH, 2, c / 2, h, w]);
  const swapped = b.op('Transpose', [grouped], { perm: [0, 2, 1, 3, 4] }, [BATCH, c / 2, 2, h, w]);
  return b.op('Reshape', [swapped, b.constant([-1, c, h, w], [4], 'I64')], { allowzero: 0 }, [BATCH, c, h, w]);
}

function invertedResidual(b: GraphBuilder, x: string, out: number, stride: number): string {
  const inp = b.dim(x, 1);
  const features = out / 2;
  const branch2 = (input: string): string =>
    b.module('branch2', () => {
      let y = conv2d(b, 0, input, features, { kernel: 1, bias: false });
      y = batchNorm2d(b, 1, y);
      y = relu(b, 2, y);
      y = conv2d(b, 3, y, features, { kernel: 3, stride, padding: 1, groups: features, bias: false });
      y = batchNorm2d(b, 4, y);
      y = conv2d(b, 5, y, features, { kernel: 1, bias: false });
      y = batchNorm2d(b, 6, y);
      return relu(b, 7, y);
    });
  let out2: string;
  if (stride === 1) {
    const [n, c, h, w] = b.shape(x);
    const half = (c as number) / 2;
    const [x1, x2] = b.node('Split', [x, b.constant([half, half], [2], 'I64')], { axis: 1 }, [
      { shape: [n, half, h, w] },
      { shape: [n, half, h, w] },
    ]);
    out2 = concat(b, [x1, branch2(x2)]);
  } else {
    const left = b.module('branch1', () => {
      let y = conv2d(b, 0, x, inp, { kernel: 3, stride, padding: 1, groups: inp, bias: false });
      y = batchNorm2d(b, 1, y);
      y = conv2d(b, 2, y, features, { kernel: 1, bias: false });
      y = batchNorm2d(b, 3, y);
      return relu(b, 4, y);
    });
    out2 = concat(b, [left, branch2(x)]);
  }
  return channelShuffle(b, out2);
}

export function shufflenetV2(b: GraphBuilder, numClasses: number, name: string): string {
  const channels = SHUFFLENET_CHANNELS[name];
  let x = b.module('conv1', () => {
    let y = conv2d(b, 0, b.input, channels[0], { kernel: 3, stride: 2, padding: 1, bias: false });
    y = batchNorm2d(b, 1, y);
    return relu(b, 2, y);
  });
  x = maxPool2d(b, 'maxpool', x, { kernel: 3, stride: 2, padding: 1 });
  REPEATS.forEach((repeats, s) => {
    x = b.module(`stage${s + 2}`, () => {
      let y = x;
      for (let i = 0; i < repeats; i++) {
        y = b.module(i, () => invertedResidual(b, y, channels[s + 1], i === 0 ? 2 : 1));
      }
      return y;
    });
  });
  x = b.module('conv5', () => {
    let y = conv2d(b, 0, x, channels[4], { kernel: 1, bias: false });
    y = batchNorm2d(b, 1, y);
    return relu(b, 2, y);
  });
  x = reduceMean(b, x, [2, 3], false);
  return linear(b, 'fc', x, numClasses);
}
