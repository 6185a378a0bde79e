import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { isCoreError } from '../errors';
import { bilinearMatrix, resizeBilinear } from './bilinear';
import type { GhnConfig } from './ghn-config';
import { groupKey } from './param-matching';
import { normalizeParam, pySlice, tileGhn3, tilePpuda } from './tile-params';

const noRow = (): tf.Tensor => {
  throw new Error('no class row expected');
};
const arange = (shape: number[]): tf.Tensor => tf.reshape(tf.range(0, shape.reduce((a, b) => a * b, 1)), shape);
const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('tiling predicted tensors to target shapes', () => {
  it('slices like Python', () => {
    expect(pySlice(5, 1, 3)).toEqual([1, 2]);
    expect(pySlice(5, -2, 9)).toEqual([3, 2]);
    expect(pySlice(5, 4, 2)).toEqual([4, 0]);
  });

  it('repeats whole blocks of out- and in-channels, then cuts', () => {
    const w = arange([2, 3]);
    const t = tileGhn3(w, [5, 4], false, noRow);
    expect(t.shape).toEqual([5, 4]);
    expect(values(t)).toEqual([0, 1, 2, 0, 3, 4, 5, 3, 0, 1, 2, 0, 3, 4, 5, 3, 0, 1, 2, 0]);
  });

  it('crops kernels at the centre for GHN-3 and top-left for GHN-2 and ppuda', () => {
    const w = arange([1, 1, 5, 5]);
    expect(values(tileGhn3(w, [1, 1, 3, 3], false, noRow))).toEqual([6, 7, 8, 11, 12, 13, 16, 17, 18]);
    expect(values(tileGhn3(w, [1, 1, 3, 3], true, noRow))).toEqual([0, 1, 2, 5, 6, 7, 10, 11, 12]);
    expect(values(tilePpuda(w, [1, 1, 2, 2]))).toEqual([0, 1, 5, 6]);
    // 1-D and 2-D targets read the centre pixel (GHN-3 code) or pixel (0, 0) (ppuda).
    expect(values(tileGhn3(arange([2, 1, 3, 3]), [2], false, noRow))).toEqual([4, 13]);
    expect(values(tilePpuda(arange([2, 1, 3, 3]), [2]))).toEqual([0, 9]);
  });

  it('turns a decoded (1, C, s, s) positional encoding into (1, 1 + s², C) with the class row first', () => {
    const w = arange([1, 2, 2, 2]);
    const t = tileGhn3(w, [1, 5, 4], false, (width) => tf.fill([1, 1, width], -1));
    expect(t.shape).toEqual([1, 5, 4]);
    expect(values(t)).toEqual([-1, -1, -1, -1, 0, 4, 0, 4, 1, 5, 1, 5, 2, 6, 2, 6, 3, 7, 3, 7]);
  });

  it('fails with GHN_UNSUPPORTED where the official code fails', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isCoreError(e) ? e.code : String(e);
      }
      return undefined;
    };
    // A kernel larger than the decoded one (no resize happened): the official assertion fails.
    expect(code(() => tileGhn3(arange([1, 1, 1, 4]), [1, 1, 1, 8], false, noRow))).toBe('GHN_UNSUPPORTED');
    expect(code(() => tilePpuda(arange([1, 1, 3, 3]), [1, 1, 5, 5]))).toBe('GHN_UNSUPPORTED');
    expect(code(() => tilePpuda(arange([4, 4]), [4, 4, 1, 1]))).toBe('GHN_UNSUPPORTED');
  });
});

describe('normalisation', () => {
  it('scales by √(β / fan-in) and squashes 1-D tensors', () => {
    expect(values(normalizeParam(tf.fill([2, 8], 1), true))[0]).toBeCloseTo(Math.sqrt(2 / 8), 6);
    expect(values(normalizeParam(tf.fill([2, 1, 3, 3], 1), true))[0]).toBeCloseTo(Math.sqrt(1 / 9), 6);
    expect(values(normalizeParam(tf.fill([2, 4, 1, 3], 1), true))[0]).toBeCloseTo(Math.sqrt(1 / 12), 6);
    expect(values(normalizeParam(tf.fill([1, 197, 768], 3), true))[0]).toBe(3);
    expect(values(normalizeParam(tf.tensor1d([0, 2]), true))).toEqual([1, expect.closeTo(2 / (1 + Math.exp(-1)), 6)]);
    expect(values(normalizeParam(tf.tensor1d([5]), false))[0]).toBeCloseTo(Math.tanh(1), 6);
  });
});

describe('decoder group keys', () => {
  const c = { impl: 'ghn3', maxShape: [64, 64, 16, 16] } as GhnConfig;
  it('rounds channel counts as the official min_sz', () => {
    expect(groupKey([48, 3, 7, 7], false, false, c)).toEqual([64, 4, 7, 7]);
    expect(groupKey([24, 12, 1, 1], false, false, c)).toEqual([64, 16, 1, 1]);
    expect(groupKey([20], false, false, c)).toEqual([20, 0]);
    expect(groupKey([10], false, true, c)).toEqual([10, -1]);
    expect(groupKey([1000, 512], true, false, c)).toEqual([64, 64]);
    expect(groupKey([1, 197, 768], false, false, c)).toEqual([1, 768, 14, 14]);
    expect(groupKey([96, 1, 1], false, false, c)).toEqual([64, 1, 1]);
  });
});

describe('bilinear resize', () => {
  it('matches PyTorch align_corners=False weights', () => {
    // F.interpolate(torch.tensor([[[[0., 1.]]]]), size=(1, 4), mode='bilinear') → [0, 0.25, 0.75, 1]
    const m = bilinearMatrix(2, 4);
    expect(Array.from(m)).toEqual([1, 0.75, 0.25, 0, 0, 0.25, 0.75, 1]);
    const x = tf.tensor4d([0, 1, 2, 3], [1, 1, 2, 2]);
    expect(values(resizeBilinear(x, 4, 4))).toEqual([
      0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3,
    ]);
  });
});
