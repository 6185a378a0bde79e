import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { readAll } from '../formats/tensor-set';
import { cloneGraph, tinyCnn } from '../graph/testing-graphs';
import { buildZooModel } from '../graph/zoo';
import { initializationTensors, initializeParameters, type InitMethod } from './initialize-parameters';
import { orthogonalMatrix } from './orthogonal';
import { randomStream } from './seeded-random';
import type { InitTensor } from './tensor-bytes';
import { classifyTensors } from './tensor-roles';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

const floats = (t: InitTensor | undefined): Float32Array => {
  if (!t || t.dtype !== 'F32') throw new Error(`expected an F32 tensor, got ${t?.dtype}`);
  return new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
};

function stats(values: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let sumsq = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v;
    sumsq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sumsq / values.length - mean * mean), min, max };
}

/** Largest |G − I| of the Gram matrix of the shorter side of a row-major rows × cols matrix. */
function orthonormalityError(q: ArrayLike<number>, rows: number, cols: number): number {
  const small = Math.min(rows, cols);
  let worst = 0;
  for (let a = 0; a < small; a++) {
    for (let b = a; b < small; b++) {
      let s = 0;
      if (rows <= cols) for (let k = 0; k < cols; k++) s += q[a * cols + k] * q[b * cols + k];
      else for (let k = 0; k < rows; k++) s += q[k * cols + a] * q[k * cols + b];
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

describe('seeded random streams', () => {
  it('depend on (seed, name) only, with the right moments', () => {
    const a = randomStream(7, 'conv1.weight');
    const b = randomStream(7, 'conv1.weight');
    const same = Array.from({ length: 5 }, () => a.normal());
    expect(Array.from({ length: 5 }, () => b.normal())).toEqual(same);
    expect(randomStream(8, 'conv1.weight').normal()).not.toBe(same[0]);
    expect(randomStream(7, 'conv2.weight').normal()).not.toBe(same[0]);
    const r = randomStream(2 ** 40 + 3, 'x');
    const normals = Float64Array.from({ length: 200_000 }, () => r.normal());
    const s = stats(normals);
    expect(Math.abs(s.mean)).toBeLessThan(0.01);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.01);
    const u = Float64Array.from({ length: 100_000 }, () => r.uniform());
    const su = stats(u);
    expect(su.min).toBeGreaterThanOrEqual(0);
    expect(su.max).toBeLessThan(1);
    expect(Math.abs(su.mean - 0.5)).toBeLessThan(0.01);
  });

  it('refuses a seed that is not a non-negative safe integer', () => {
    expect(() => randomStream(-1, 'x')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => randomStream(1.5, 'x')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('orthogonalMatrix', () => {
  it.each([
    [12, 7],
    [7, 12],
    [40, 40],
    [300, 120], // blocked path (tf matmuls)
    [100, 450],
  ])('%i × %i has orthonormal rows or columns', (rows, cols) => {
    const q = orthogonalMatrix(rows, cols, randomStream(3, `${rows}x${cols}`));
    expect(q.length).toBe(rows * cols);
    expect(orthonormalityError(q, rows, cols)).toBeLessThan(Math.min(rows, cols) < 96 ? 1e-12 : 1e-5);
  });

  it('gives the same Q by the blocked and the plain algorithm (the QR of the same Gaussian)', () => {
    // 130 columns take the blocked path; the first 95 columns of a plain QR on the same draws must agree.
    const blocked = orthogonalMatrix(200, 130, randomStream(5, 'm'));
    const plainSource = randomStream(5, 'm');
    const draws = Float64Array.from({ length: 200 * 130 }, () => plainSource.normal());
    // A plain QR of the first 95 columns (row-major 200 × 95) yields Q's first 95 columns (QR is column-causal).
    let i = 0;
    const narrow = orthogonalMatrix(200, 95, { normal: () => draws[Math.floor(i / 95) * 130 + (i++ % 95)], uniform: () => 0 });
    let worst = 0;
    for (let r = 0; r < 200; r++) for (let c = 0; c < 95; c++) worst = Math.max(worst, Math.abs(blocked[r * 130 + c] - narrow[r * 95 + c]));
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('classifyTensors', () => {
  it('finds the PyTorch module rule of each state_dict entry', () => {
    const roles = (name: string) => new Map(classifyTensors(buildZooModel(name)).map((t) => [t.init.name, t]));
    const resnet = roles('resnet18');
    expect(resnet.get('conv1.weight')?.role).toBe('conv-weight');
    expect(resnet.get('bn1.weight')?.role).toBe('norm-weight');
    expect(resnet.get('bn1.running_var')?.role).toBe('running-var');
    expect(resnet.get('bn1.num_batches_tracked')?.role).toBe('batch-count');
    expect(resnet.get('fc.weight')?.role).toBe('linear-weight');
    expect(resnet.get('fc.bias')).toMatchObject({ role: 'layer-bias', biasFanIn: 512 });
    const vit = roles('vit_b_16');
    const layer = 'encoder.layers.encoder_layer_0';
    expect(vit.get('class_token')?.role).toBe('class-token');
    expect(vit.get('encoder.pos_embedding')?.role).toBe('position-embedding');
    expect(vit.get(`${layer}.self_attention.in_proj_weight`)?.role).toBe('attention-in-weight');
    expect(vit.get(`${layer}.self_attention.in_proj_bias`)?.role).toBe('attention-bias');
    expect(vit.get(`${layer}.self_attention.out_proj.weight`)?.role).toBe('linear-weight');
    expect(vit.get(`${layer}.self_attention.out_proj.bias`)?.role).toBe('attention-bias');
    expect(vit.get(`${layer}.mlp.0.weight`)?.role).toBe('linear-weight');
    expect(vit.get(`${layer}.mlp.0.bias`)).toMatchObject({ role: 'layer-bias', biasFanIn: 768 });
    expect(vit.get(`${layer}.ln_1.weight`)?.role).toBe('norm-weight');
    expect(vit.get('conv_proj.bias')).toMatchObject({ role: 'layer-bias', biasFanIn: 3 * 16 * 16 });
    expect(roles('convnext_tiny').get('features.1.0.layer_scale')?.role).toBe('layer-scale');
  });
});

describe('initializeParameters', () => {
  const resnet18 = buildZooModel('resnet18');

  it('torch-default: kaiming_uniform(a=√5) convs and linears, U(±1/√fan_in) biases, fresh BatchNorm', () => {
    const p = initializeParameters(resnet18, 'torch-default', { seed: 0 });
    expect([...p.keys()]).toEqual(resnet18.initializers.map((i) => i.name));
    for (const [name, fanIn] of [
      ['conv1.weight', 3 * 49],
      ['layer3.0.conv2.weight', 256 * 9],
      ['fc.weight', 512],
    ] as const) {
      const s = stats(floats(p.get(name)));
      const bound = 1 / Math.sqrt(fanIn);
      expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.05);
      expect(s.max).toBeLessThanOrEqual(bound);
      expect(s.min).toBeGreaterThanOrEqual(-bound);
    }
    const bias = stats(floats(p.get('fc.bias')));
    expect(bias.max).toBeLessThanOrEqual(1 / Math.sqrt(512));
    expect(bias.std).toBeGreaterThan(0);
    expect(floats(p.get('bn1.weight')).every((v) => v === 1)).toBe(true);
    expect(floats(p.get('bn1.bias')).every((v) => v === 0)).toBe(true);
    expect(floats(p.get('bn1.running_mean')).every((v) => v === 0)).toBe(true);
    expect(floats(p.get('bn1.running_var')).every((v) => v === 1)).toBe(true);
    const count = p.get('bn1.num_batches_tracked') as InitTensor;
    expect(count).toMatchObject({ dtype: 'I64', shape: [] });
    expect(new BigInt64Array(count.data.slice().buffer)[0]).toBe(0n);
  });

  it('kaiming: kaiming_normal(fan_out, relu) convs, N(0, 0.01) linears, zero biases', () => {
    const p = initializeParameters(resnet18, 'kaiming', { seed: 1 });
    const conv = stats(floats(p.get('layer2.0.conv1.weight')));
    expect(Math.abs(conv.std / Math.sqrt(2 / (128 * 9)) - 1)).toBeLessThan(0.05);
    expect(Math.abs(conv.mean)).toBeLessThan(0.01);
    expect(Math.abs(stats(floats(p.get('fc.weight'))).std / 0.01 - 1)).toBeLessThan(0.05);
    expect(floats(p.get('fc.bias')).every((v) => v === 0)).toBe(true);
  });

  it('orthogonal: orthonormal flattened weights, zero biases, torchvision rules for tokens and layer scales', () => {
    const g = cloneGraph(tinyCnn());
    g.initializers[0].shape = [16, 3, 5, 5];
    g.initializers[7].shape = [120, 40];
    const p = initializeParameters(g, 'orthogonal', { seed: 2 });
    expect(orthonormalityError(floats(p.get('conv.weight')), 16, 75)).toBeLessThan(1e-6);
    expect(orthonormalityError(floats(p.get('fc.weight')), 120, 40)).toBeLessThan(1e-6);
    expect(floats(p.get('fc.bias')).every((v) => v === 0)).toBe(true);
    expect(floats(p.get('bn.running_var')).every((v) => v === 1)).toBe(true);
  });

  it('is deterministic per seed and streams the same bytes lazily', async () => {
    const g = buildZooModel('squeezenet1_0');
    const a = initializeParameters(g, 'torch-default', { seed: 11 });
    const b = initializeParameters(g, 'torch-default', { seed: 11 });
    const c = initializeParameters(g, 'torch-default', { seed: 12 });
    const name = 'features.0.weight';
    expect(Buffer.from(a.get(name)!.data).equals(Buffer.from(b.get(name)!.data))).toBe(true);
    expect(Buffer.from(a.get(name)!.data).equals(Buffer.from(c.get(name)!.data))).toBe(false);
    const lazy = initializationTensors(g, 'torch-default', { seed: 11 });
    expect(lazy.map((t) => t.name)).toEqual([...a.keys()]);
    for (const t of lazy.slice(0, 6)) expect(Buffer.from(await readAll(t)).equals(Buffer.from(a.get(t.name)!.data))).toBe(true);
  });

  it('gives torchvision values to ViT tokens and ConvNeXt layer scales', () => {
    const g = buildZooModel('convnext_tiny');
    g.initializers = g.initializers.filter((i) => i.name.startsWith('features.1.0.') || i.name.startsWith('features.0.'));
    for (const method of ['torch-default', 'kaiming', 'orthogonal'] as InitMethod[]) {
      const p = initializeParameters(g, method, { seed: 0 });
      expect(floats(p.get('features.1.0.layer_scale')).every((v) => v === Math.fround(1e-6))).toBe(true);
      expect(floats(p.get('features.0.1.weight')).every((v) => v === 1)).toBe(true);
    }
  });

  it('gives an alias the values of the tensor it aliases, in its own dtype', () => {
    const g = cloneGraph(tinyCnn());
    g.initializers.push({ name: 'head.weight', dtype: 'F32', shape: [2, 4], isParameter: true, aliasOf: 'fc.weight' });
    const p = initializeParameters(g, 'torch-default', { seed: 4 });
    expect(Buffer.from(p.get('head.weight')!.data).equals(Buffer.from(p.get('fc.weight')!.data))).toBe(true);
  });

  it('refuses an unknown method', () => {
    expect(() => initializeParameters(resnet18, 'xavier' as InitMethod, { seed: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
