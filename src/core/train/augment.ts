import type { Batch, Normalization } from '../datasets/batch';
import { randomStream } from '../init/seeded-random';
import type { AugmentConfig } from './training-config';

/**
 * The order of epoch `epoch`: a Fisher–Yates shuffle of 0..n−1 drawn from
 * randomStream(seed, 'train/shuffle/epoch-<epoch>'), so it depends on nothing but (seed, epoch).
 */
export function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = randomStream(seed, `train/shuffle/epoch-${epoch}`);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** True when the configuration changes images at all. */
export function augments(config: AugmentConfig): boolean {
  return (config.randomCrop !== undefined && config.randomCrop.padding > 0) || config.horizontalFlip === true;
}

/**
 * Augments a normalized batch in place, as torchvision's RandomCrop(size, padding) followed by
 * RandomHorizontalFlip(0.5) on the raw images: the zero padding is a raw 0, so on normalized values
 * it is (0 − mean)/std per channel. Draws come from randomStream(seed, 'train/augment/step-<step>'),
 * per image in batch order: crop top, crop left (each uniform in [0, 2·padding]), then flip
 * (uniform < 0.5); a disabled transform draws nothing.
 */
export function augmentBatch(batch: Batch, normalization: Normalization, config: AugmentConfig, seed: number, step: number): void {
  if (!augments(config)) return;
  const [n, c, h, w] = batch.shape;
  const padding = config.randomCrop?.padding ?? 0;
  const flip = config.horizontalFlip === true;
  const random = randomStream(seed, `train/augment/step-${step}`);
  const plane = h * w;
  const source = new Float32Array(plane);
  for (let i = 0; i < n; i++) {
    const top = padding > 0 ? Math.floor(random.uniform() * (2 * padding + 1)) - padding : 0;
    const left = padding > 0 ? Math.floor(random.uniform() * (2 * padding + 1)) - padding : 0;
    const mirrored = flip && random.uniform() < 0.5;
    if (top === 0 && left === 0 && !mirrored) continue;
    for (let ch = 0; ch < c; ch++) {
      const fill = Math.fround((0 - normalization.mean[ch]) / normalization.std[ch]);
      const at = (i * c + ch) * plane;
      source.set(batch.inputs.subarray(at, at + plane));
      for (let y = 0; y < h; y++) {
        const sy = y + top;
        for (let x = 0; x < w; x++) {
          const sx = (mirrored ? w - 1 - x : x) + left;
          batch.inputs[at + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? source[sy * w + sx] : fill;
        }
      }
    }
  }
}
