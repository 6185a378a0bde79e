import { CoreError } from '../../errors';
import type { ArchitectureGraph } from '../ir';
import { alexnet, squeezenet, vgg } from './classic';
import { BATCH, GraphBuilder, invalidArgument } from './graph-builder';
import { CONVNEXT_CONFIGS, convnext } from './convnext';
import { DENSENET_CONFIGS, densenet } from './densenet';
import { efficientnet, efficientnetV2 } from './efficientnet';
import { mnasnet, mobilenetV2, mobilenetV3 } from './mobilenet';
import { RESNET_CONFIGS, resnet } from './resnet';
import { VIT_CONFIGS, visionTransformer } from './vit';

/** A torchvision classification architecture: its family, Python class and forward pass. */
interface ZooEntry {
  family: string;
  modelClass: string;
  imageSize: number;
  forward: (b: GraphBuilder, numClasses: number) => string;
}

export interface ZooOptions {
  /** Classifier outputs (default 1000, ImageNet). */
  numClasses?: number;
  /** Square input size (default 224; 299 for inception_v3). */
  imageSize?: number;
}

const REGISTRY = new Map<string, ZooEntry>();

function register(names: string[], family: string, modelClass: string, make: (name: string) => ZooEntry['forward'], imageSize = 224): void {
  for (const name of names) REGISTRY.set(name, { family, modelClass, imageSize, forward: make(name) });
}

register(['alexnet'], 'alexnet', 'AlexNet', () => alexnet);
register(
  ['vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn'],
  'vgg',
  'VGG',
  (name) => {
    const config = { '11': 'A', '13': 'B', '16': 'D', '19': 'E' }[name.slice(3, 5)] as string;
    return (b, n) => vgg(b, n, config, name.endsWith('_bn'));
  },
);
register(['squeezenet1_0', 'squeezenet1_1'], 'squeezenet', 'SqueezeNet', (name) => (b, n) =>
  squeezenet(b, n, name.endsWith('1_0') ? '1_0' : '1_1'),
);
register(Object.keys(RESNET_CONFIGS), 'resnet', 'ResNet', (name) => (b, n) => resnet(b, n, RESNET_CONFIGS[name]));

register(['mobilenet_v2'], 'mobilenet', 'MobileNetV2', () => mobilenetV2);
register(['mobilenet_v3_large', 'mobilenet_v3_small'], 'mobilenet', 'MobileNetV3', (name) => (b, n) =>
  mobilenetV3(b, n, name.endsWith('large') ? 'large' : 'small'),
);
register(['mnasnet0_5', 'mnasnet0_75', 'mnasnet1_0', 'mnasnet1_3'], 'mnasnet', 'MNASNet', (name) => (b, n) =>
  mnasnet(b, n, Number(name.slice(7).replace('_', '.'))),
);
register(
  ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'].map((v) => `efficientnet_${v}`),
  'efficientnet',
  'EfficientNet',
  (name) => (b, n) => efficientnet(b, n, name.slice(13)),
);
register(['efficientnet_v2_s', 'efficientnet_v2_m', 'efficientnet_v2_l'], 'efficientnet', 'EfficientNet', (name) => (b, n) =>
  efficientnetV2(b, n, name.slice(16) as 's' | 'm' | 'l'),
);
register(Object.keys(DENSENET_CONFIGS), 'densenet', 'DenseNet', (name) => (b, n) => densenet(b, n, name));
register(Object.keys(CONVNEXT_CONFIGS), 'convnext', 'ConvNeXt', (name) => (b, n) => convnext(b, n, name));
register(Object.keys(VIT_CONFIGS), 'vit', 'VisionTransformer', (name) => (b, n) => visionTransformer(b, n, VIT_CONFIGS[name]));

/** All zoo model names (torchvision builder names), sorted. */
export function zooNames(): string[] {
  return [...REGISTRY.keys()].sort();
}

function entry(name: string): ZooEntry {
  const found = REGISTRY.get(name);
  if (!found) {
    throw new CoreError('ZOO_UNKNOWN_MODEL', `unknown zoo model "${name}"`, { name, known: zooNames() });
  }
  return found;
}

/** Family of a zoo model, e.g. `resnet` for `resnext50_32x4d`. */
export function zooFamily(name: string): string {
  return entry(name).family;
}

/**
 * Builds the architecture graph of a torchvision model with its default arguments (GoogLeNet and
 * Inception v3 without auxiliary heads): exporter-style ops, state_dict-named initializers.
 */
export function buildZooModel(name: string, opts: ZooOptions = {}): ArchitectureGraph {
  const model = entry(name);
  const numClasses = opts.numClasses ?? 1000;
  const imageSize = opts.imageSize ?? model.imageSize;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw invalidArgument('numClasses must be a positive integer', { numClasses });
  }
  if (!Number.isInteger(imageSize) || imageSize < 1) {
    throw invalidArgument('imageSize must be a positive integer', { imageSize });
  }
  const b = new GraphBuilder(name, model.modelClass, [BATCH, 3, imageSize, imageSize]);
  return b.build(model.forward(b, numClasses));
}
