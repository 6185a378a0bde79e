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
  relu,
} from './nn';

/** DenseNet-121/161/169/201 (torchvision densenet.py, memory_efficient=False). */

/** growth rate, block config, initial features */
export const DENSENET_CONFIGS: Record<string, [number, number[], number]> = {
  densenet121: [32, [6, 12, 24, 16], 64],
  densenet161: [48, [6, 12, 36, 24], 96],
  densenet169: [32, [6, 12, 32, 32], 64],
  densenet201: [32, [6, 12, 48, 32], 64],
};

const BN_SIZE = 4;

function denseLayer(b: GraphBuilder, inputs: string[], growth: number): string {
  // Each layer concatenates all earlier outputs, even when there is only one.
  let y = concat(b, inputs);
  y = batchNorm2d(b, 'norm1', y);
  y = relu(b, 'relu1', y);
  y = conv2d(b, 'conv1', y, BN_SIZE * growth, { kernel: 1, bias: false });
  y = batchNorm2d(b, 'norm2', y);
  y = relu(b, 'relu2', y);
  return conv2d(b, 'conv2', y, growth, { kernel: 3, padding: 1, bias: false });
}

export function densenet(b: GraphBuilder, numClasses: number, name: string): string {
  const [growth, blocks, initFeatures] = DENSENET_CONFIGS[name];
  let x = b.module('features', () => {
    let y = conv2d(b, 'conv0', b.input, initFeatures, { kernel: 7, stride: 2, padding: 3, bias: false });
    y = batchNorm2d(b, 'norm0', y);
    y = relu(b, 'relu0', y);
    y = maxPool2d(b, 'pool0', y, { kernel: 3, stride: 2, padding: 1 });
    blocks.forEach((layers, i) => {
      y = b.module(`denseblock${i + 1}`, () => {
        const features = [y];
        for (let l = 0; l < layers; l++) {
          features.push(b.module(`denselayer${l + 1}`, () => denseLayer(b, features, growth)));
        }
        return concat(b, features);
      });
      if (i === blocks.length - 1) return;
      y = b.module(`transition${i + 1}`, () => {
        let t = batchNorm2d(b, 'norm', y);
        t = relu(b, 'relu', t);
        t = conv2d(b, 'conv', t, Math.floor(b.dim(t, 1) / 2), { kernel: 1, bias: false });
        return avgPool2d(b, 'pool', t, { kernel: 2, stride: 2 });
      });
    });
    return batchNorm2d(b, 'norm5', y);
  });
  x = relu(b, null, x);
  x = adaptiveAvgPool2d(b, null, x, 1);
  x = flatten(b, null, x);
  return linear(b, 'classifier', x, numClasses);
}
