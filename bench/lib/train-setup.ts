import type { Dataset } from '../../src/core/datasets';
import { buildZooModel } from '../../src/core/graph/zoo';
import type { ArchitectureGraph } from '../../src/core/graph/ir';
import { initializeParameters } from '../../src/core/init';
import { stateFromWeights, type ModelState } from '../../src/core/train';

/** resnet20 (CIFAR-style) for 28×28×1 inputs and 10 classes, torch-default initialized from `seed`. */
export function resnet20Gray(seed = 0): { graph: ArchitectureGraph; state: ModelState } {
  const graph = buildZooModel('resnet20', { inChannels: 1, numClasses: 10, imageSize: 28 });
  return { graph, state: stateFromWeights(graph, initializeParameters(graph, 'torch-default', { seed })) };
}

/** n seeded uint8 images 1×28×28 with labels 0..9. */
export function syntheticGray(n: number, seed = 1): Dataset {
  const inputs = new Uint8Array(n * 28 * 28);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < inputs.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    inputs[i] = (s >>> 0) % 256;
  }
  return { shape: [n, 1, 28, 28], inputs, labels: Int32Array.from({ length: n }, (_, i) => i % 10), classCount: 10 };
}
