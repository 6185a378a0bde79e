import { CoreError } from '../../errors';
import type { ArchitectureGraph } from '../ir';
import { CIFAR_RESNET_BLOCKS, WIDE_RESNET_CONFIGS, cifarResnet, wideResnet } from './cifar';
import { alexnet, squeezenet, vgg } from './classic';
import { BATCH, GraphBuilder, invalidArgument } from './graph-builder';
import { CONVNEXT_CONFIGS, convnext } from './convnext';
import { DENSENET_CONFIGS, densenet } from './densenet';
import { efficientnet, efficientnetV2 } from './efficientnet';
import { googlenet, inceptionV3 } from './inception';
import { mnasnet, mobilenetV2, mobilenetV3 } from './mobilenet';
import { REGNET_CONFIGS, regnet } from './regnet';
import { RESNET_CONFIGS, resnet } from './resnet';
import { SHUFFLENET_CHANNELS, shufflenetV2 } from './shufflenet';
import { VIT_CONFIGS, visionTransformer } from './vit';

/** A classification architecture: its family, Python class, default sizes and forward pass. */
interface ZooEntry {
  family: string;
  modelClass: string;
  imageSize: number;
  numClasses: number;
  forward: (b: GraphBuilder, numClasses: number) => string;
}

export interface ZooOptions {
  /** Classifier outputs (default 1000, ImageNet; 10 for the CIFAR-style models). */
  numClasses?: number;
  /** Square input size (default 224; 299 for inception_v3; 32 for the CIFAR-style models). */
  imageSize?: number;
  /** Input channels (default 3; 1 for grayscale): only the stem convolution's weight changes. */
  inChannels?: number;
}

/** Largest `inChannels` accepted (hyperspectral stacks stay far below). */
export const MAX_IN_CHANNELS = 1024;

const REGISTRY = new Map<string, ZooEntry>();

type Forward = ZooEntry['forward'];

function register(
  family: string,
  modelClass: string,
  names: string[],
  make: (name: string) => Forward,
  imageSize = 224,
  numClasses = 1000,
): void {
  for (const name of names) REGISTRY.set(name, { family, modelClass, imageSize, numClasses, forward: make(name) });
}

const VGG_LETTERS: Record<string, string> = { '11': 'A', '13': 'B', '16': 'D', '19': 'E' };
const withBn = (names: string[]): string[] => names.flatMap((n) => [n, `${n}_bn`]);

register('alexnet', 'AlexNet', ['alexnet'], () => alexnet);
register('vgg', 'VGG', withBn(['vgg11', 'vgg13', 'vgg16', 'vgg19']), (name) => (b, n) =>
  vgg(b, n, VGG_LETTERS[name.slice(3, 5)], name.endsWith('_bn')),
);
register('squeezenet', 'SqueezeNet', ['squeezenet1_0', 'squeezenet1_1'], (name) => (b, n) =>
  squeezenet(b, n, name.endsWith('1_0') ? '1_0' : '1_1'),
);
register('resnet', 'ResNet', Object.keys(RESNET_CONFIGS), (name) => (b, n) => resnet(b, n, RESNET_CONFIGS[name]));
register('densenet', 'DenseNet', Object.keys(DENSENET_CONFIGS), (name) => (b, n) => densenet(b, n, name));
register('mobilenet', 'MobileNetV2', ['mobilenet_v2'], () => mobilenetV2);
register('mobilenet', 'MobileNetV3', ['mobilenet_v3_large', 'mobilenet_v3_small'], (name) => (b, n) =>
  mobilenetV3(b, n, name.endsWith('large') ? 'large' : 'small'),
);
register('mnasnet', 'MNASNet', ['mnasnet0_5', 'mnasnet0_75', 'mnasnet1_0', 'mnasnet1_3'], (name) => (b, n) =>
  mnasnet(b, n, Number(name.slice('mnasnet'.length).replace('_', '.'))),
);
register('efficientnet', 'EfficientNet', ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'].map((v) => `efficientnet_${v}`), (name) =>
  (b, n) => efficientnet(b, n, name.slice('efficientnet_'.length)),
);
register('efficientnet', 'EfficientNet', ['s', 'm', 'l'].map((v) => `efficientnet_v2_${v}`), (name) => (b, n) =>
  efficientnetV2(b, n, name.slice('efficientnet_v2_'.length) as 's' | 'm' | 'l'),
);
register('shufflenet', 'ShuffleNetV2', Object.keys(SHUFFLENET_CHANNELS), (name) => (b, n) => shufflenetV2(b, n, name));
register('regnet', 'RegNet', Object.keys(REGNET_CONFIGS), (name) => (b, n) => regnet(b, n, name));
register('googlenet', 'GoogLeNet', ['googlenet'], () => googlenet);
register('inception', 'Inception3', ['inception_v3'], () => inceptionV3, 299);
register('convnext', 'ConvNeXt', Object.keys(CONVNEXT_CONFIGS), (name) => (b, n) => convnext(b, n, name));
register('resnet_cifar', 'CifarResNet', Object.keys(CIFAR_RESNET_BLOCKS), (name) => (b, n) =>
  cifarResnet(b, n, CIFAR_RESNET_BLOCKS[name]), 32, 10,
);
register('resnet_cifar', 'WideResNet', Object.keys(WIDE_RESNET_CONFIGS), (name) => (b, n) =>
  wideResnet(b, n, WIDE_RESNET_CONFIGS[name].depth, WIDE_RESNET_CONFIGS[name].widen), 32, 10,
);
register('vit', 'VisionTransformer', Object.keys(VIT_CONFIGS), (name) => (b, n) =>
  visionTransformer(b, n, VIT_CONFIGS[name]),
);

/** All zoo model names (torchvision builder names, and the CIFAR-style models), sorted. */
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
  const numClasses = opts.numClasses ?? model.numClasses;
  const imageSize = opts.imageSize ?? model.imageSize;
  const inChannels = opts.inChannels ?? 3;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw invalidArgument('numClasses must be a positive integer', { numClasses });
  }
  if (!Number.isInteger(imageSize) || imageSize < 1) {
    throw invalidArgument('imageSize must be a positive integer', { imageSize });
  }
  if (!Number.isInteger(inChannels) || inChannels < 1 || inChannels > MAX_IN_CHANNELS) {
    throw invalidArgument(`inChannels must be an integer from 1 to ${MAX_IN_CHANNELS}`, { inChannels });
  }
  const b = new GraphBuilder(name, model.modelClass, [BATCH, inChannels, imageSize, imageSize]);
  return b.build(model.forward(b, numClasses));
}
