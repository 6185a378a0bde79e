import * as tf from '@tensorflow/tfjs-core';
import { CoreError } from '../errors';

/**
 * The shape encoder's vocabulary (ppuda's ShapeEncoder): channel values seen in
 * training plus num_classes, and odd kernel sizes up to max(12, S) plus 14 and 16.
 */
export function channelTable(numClasses: number): number[] {
  const values = new Set<number>([1, 3, numClasses]);
  for (let c = 8; c < 64; c += 8) values.add(c);
  for (let c = 64; c < 4096; c += 16) values.add(c);
  for (let c = 4096; c <= 8192; c += 32) values.add(c);
  return [...values].sort((a, b) => a - b);
}

export function spatialTable(s: number): number[] {
  const values = new Set<number>([14, 16]);
  for (let k = 1; k < Math.max(12, s); k += 2) values.add(k);
  return [...values].sort((a, b) => a - b);
}

/** Index of the nearest table value, ties going to the smaller one (numpy argmin of |table − v|). */
function nearest(table: readonly number[], v: number): number {
  let best = 0;
  for (let i = 1; i < table.length; i++) if (Math.abs(table[i] - v) < Math.abs(table[best] - v)) best = i;
  return best;
}

export class ShapeVocabulary {
  readonly channels: number[];
  readonly spatial: number[];

  constructor(numClasses: number, spatialSize: number) {
    this.channels = channelTable(numClasses);
    this.spatial = spatialTable(spatialSize);
  }

  /** Row of the channel embedding: 4–7 → 8, exact hit, nearest below the last value, else the last. */
  channelIndex(c: number): number {
    // 4–7 map to 8 even when num_classes puts one of them in the table (the official override order).
    if (c >= 4 && c < 8) return this.channels.indexOf(8);
    const exact = this.channels.indexOf(c);
    if (exact >= 0) return exact;
    if (c >= 1 && c < this.channels[this.channels.length - 1]) return nearest(this.channels, c);
    return this.channels.length - 1;
  }

  /** Row of the spatial embedding: exact hit, 2 → 3, nearest below the last value, else the last. */
  spatialIndex(s: number): number {
    const exact = this.spatial.indexOf(s);
    if (exact >= 0) return exact;
    if (s === 2) return this.spatial.indexOf(3);
    if (s >= 1 && s < this.spatial[this.spatial.length - 1]) return nearest(this.spatial, s);
    return this.spatial.length - 1;
  }

  /** The four embedding rows of a shape; null (no shape) gives the dummy rows (one past the tables). */
  shapeIndices(sz: readonly number[] | null): [number, number, number, number] {
    if (sz === null) return [this.channels.length, this.channels.length, this.spatial.length, this.spatial.length];
    const [o, i, h, w] = to4d(sz);
    return [this.channelIndex(o), this.channelIndex(i), this.spatialIndex(h), this.spatialIndex(w)];
  }
}

/** (a) → (a,1,1,1); (a,b) → (a,b,1,1); (1,T,C) → (1,C,⌊√T⌋,⌊√T⌋); (a,b,c) → (a,b,c,1). */
export function to4d(sz: readonly number[]): [number, number, number, number] {
  switch (sz.length) {
    case 1:
      return [sz[0], 1, 1, 1];
    case 2:
      return [sz[0], sz[1], 1, 1];
    case 3: {
      if (sz[0] === 1 && Math.min(sz[1], sz[2]) > 1) {
        const s = Math.floor(Math.sqrt(sz[1]));
        return [1, sz[2], s, s];
      }
      return [sz[0], sz[1], sz[2], 1];
    }
    case 4:
      return [sz[0], sz[1], sz[2], sz[3]];
    default:
      throw new CoreError('GHN_UNSUPPORTED', `the GHN shape encoder takes 1-D to 4-D shapes, got [${sz}]`, { shape: [...sz] });
  }
}

/**
 * concat(E_ch[c_out], E_ch[c_in], E_sp[h], E_sp[w]) for each node: (N, H). `indices` is N×4
 * row-major, as shapeIndices gives them.
 */
export function encodeShapes(indices: Int32Array, embedChannel: tf.Tensor2D, embedSpatial: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const n = indices.length / 4;
    const idx = tf.tensor2d(indices, [n, 4], 'int32');
    const cols = tf.split(idx, 4, 1).map((t) => tf.reshape(t, [n]) as tf.Tensor1D);
    return tf.concat(
      [
        tf.gather(embedChannel, cols[0]),
        tf.gather(embedChannel, cols[1]),
        tf.gather(embedSpatial, cols[2]),
        tf.gather(embedSpatial, cols[3]),
      ],
      1,
    ) as tf.Tensor2D;
  });
}
