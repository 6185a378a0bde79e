import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dtype } from '../tensor/dtypes';
import { planSoup, writeSoup } from './engine';
import { checkpointBytes, ingredient, soupTensors, testValues, type TestTensor } from './testing/checkpoints';
import { bufferSource } from '../io/random-access';

const code = (c: string): unknown => expect.objectContaining({ code: c });

function model(seed: number, dtype: Dtype = 'F32'): TestTensor[] {
  return [
    { name: 'conv.weight', shape: [4, 3, 3, 3], dtype, values: testValues(108, seed) },
    { name: 'conv.bias', shape: [4], dtype, values: testValues(4, seed + 100) },
    { name: 'bn.running_var', shape: [4], dtype, values: Array.from(testValues(4, seed + 200), (v) => 1 + Math.abs(v)) },
    { name: 'bn.num_batches_tracked', shape: [], dtype: 'I64', values: [BigInt(100 * seed)] },
  ];
}

describe('uniform and weighted soups (streamed)', () => {
  it('returns a single checkpoint bit for bit (k = 1), integer buffers included', async () => {
    const original = model(1);
    const single = ingredient('a', original);
    const soup = await soupTensors({ method: 'uniform', models: [single] });
    const input = await soupTensors({ method: 'weighted', models: [ingredient('a', original)], parameters: { weights: [1] } });
    expect([...soup.keys()]).toEqual(original.map((t) => t.name));
    for (const [name, t] of soup) {
      expect(Buffer.from(t.bytes).equals(Buffer.from(input.get(name)!.bytes))).toBe(true);
      expect(t.dtype).toBe(original.find((o) => o.name === name)!.dtype);
    }
  });

  it.each<[Dtype, number]>([
    ['F32', 2],
    ['F32', 3],
    ['F32', 72],
    ['F16', 72],
    ['BF16', 5],
    ['F64', 7],
  ])('a soup of identical %s checkpoints (N = %i) equals the checkpoint bit for bit', async (dtype, n) => {
    const bytes = checkpointBytes(model(3, dtype));
    const models = Array.from({ length: n }, (_, i) => ({ label: `m${i}`, source: bufferSource(bytes) }));
    const soup = await soupTensors({ method: 'uniform', models });
    const one = await soupTensors({ method: 'uniform', models: [models[0]] });
    for (const [name, t] of soup) expect(Buffer.from(t.bytes).equals(Buffer.from(one.get(name)!.bytes))).toBe(true);
  });

  it('equals the float64 mean rounded once, and the running-mean form within f32 (T-SOUP-3)', async () => {
    const inputs = [1, 2, 3, 4, 5].map((s) => model(s));
    const soup = await soupTensors({ method: 'uniform', models: inputs.map((m, i) => ingredient(`m${i}`, m)) });
    const values = soup.get('conv.weight')!.values!;
    for (let j = 0; j < values.length; j++) {
      let sum = 0;
      let running = 0;
      inputs.forEach((m, i) => {
        const x = (m[0].values as Float32Array)[j];
        sum += x;
        running = (running * i) / (i + 1) + x / (i + 1);
      });
      expect(values[j]).toBe(Math.fround(sum / 5));
      expect(Math.abs(values[j] - running)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('weighted equals a float64 reference rounded once; integer buffers take the first ingredient (T-SOUP-6)', async () => {
    const inputs = [1, 2, 3].map((s) => model(s));
    const weights = [0.2, 0.3, 0.5];
    const soup = await soupTensors({ method: 'weighted', models: inputs.map((m, i) => ingredient(`m${i}`, m)), parameters: { weights } });
    for (const t of inputs[0].filter((x) => x.dtype !== 'I64')) {
      const got = soup.get(t.name)!.values!;
      for (let j = 0; j < got.length; j++) {
        let ref = 0;
        inputs.forEach((m, i) => (ref += weights[i] * Math.fround((m.find((x) => x.name === t.name)!.values as ArrayLike<number>)[j])));
        expect(got[j]).toBe(Math.fround(ref));
      }
    }
    const tracked = soup.get('bn.num_batches_tracked')!;
    expect(tracked.dtype).toBe('I64');
    expect(new BigInt64Array(tracked.bytes.slice().buffer)[0]).toBe(100n);
  });

  it('the soup of a linear map computes the average of the ingredients\' outputs (T-SOUP-4)', async () => {
    const ws = [1, 2, 3].map((s) => testValues(6, s)); // W: [2, 3]
    const x = [0.5, -1, 2];
    const soup = await soupTensors({ method: 'uniform', models: ws.map((w, i) => ingredient(`m${i}`, [{ name: 'w', shape: [2, 3], values: w }])) });
    const w = soup.get('w')!.values!;
    for (let r = 0; r < 2; r++) {
      const soupOut = x.reduce((s, xi, c) => s + w[r * 3 + c] * xi, 0);
      const meanOut = ws.reduce((s, wi) => s + x.reduce((a, xi, c) => a + wi[r * 3 + c] * xi, 0), 0) / 3;
      expect(Math.abs(soupOut - meanOut)).toBeLessThan(1e-5);
    }
  });

  it('WiSE-FT endpoints: α = 0 and 1 give the endpoints, α = 0.5 the 2-model uniform soup (T-SOUP-13)', async () => {
    const [zs, ft] = [model(1), model(2)];
    const wise = (alpha: number) => soupTensors({ method: 'weighted', models: [ingredient('zs', zs), ingredient('ft', ft)], parameters: { weights: [1 - alpha, alpha] } });
    const [w0, w1, half, uniform, one] = await Promise.all([
      wise(0),
      wise(1),
      wise(0.5),
      soupTensors({ method: 'uniform', models: [ingredient('zs', zs), ingredient('ft', ft)] }),
      soupTensors({ method: 'uniform', models: [ingredient('ft', ft)] }),
    ]);
    const original = await soupTensors({ method: 'uniform', models: [ingredient('zs', zs)] });
    for (const name of ['conv.weight', 'conv.bias']) {
      expect(Buffer.from(w0.get(name)!.bytes).equals(Buffer.from(original.get(name)!.bytes))).toBe(true);
      expect(Buffer.from(w1.get(name)!.bytes).equals(Buffer.from(one.get(name)!.bytes))).toBe(true);
      expect(Buffer.from(half.get(name)!.bytes).equals(Buffer.from(uniform.get(name)!.bytes))).toBe(true);
    }
  });

  it('slices of elementwise methods give the same bytes as whole tensors', async () => {
    const inputs = [1, 2, 3].map((s) => ingredient(`m${s}`, model(s)));
    const whole = await soupTensors({ method: 'task-arithmetic', base: inputs[0], models: inputs.slice(1), parameters: { weights: [0.7, 0.4] } });
    const sliced = await soupTensors({ method: 'task-arithmetic', base: inputs[0], models: inputs.slice(1), parameters: { weights: [0.7, 0.4] }, chunkElements: 7 });
    for (const [name, t] of whole) expect(Buffer.from(sliced.get(name)!.bytes).equals(Buffer.from(t.bytes))).toBe(true);
  });

  it('holds about one slice per ingredient, not the checkpoints (T-SOUP-15)', async () => {
    const big = (seed: number): TestTensor[] => [0, 1, 2, 3].map((i) => ({ name: `layer${i}.weight`, shape: [256, 256], values: testValues(65536, seed * 10 + i) }));
    const models = Array.from({ length: 20 }, (_, i) => ingredient(`m${i}`, big(i + 1)));
    const plan = await planSoup({ method: 'uniform', models, chunkElements: 4096 });
    for (const t of plan.tensors) for await (const chunk of t.chunks()) expect(chunk.byteLength).toBeLessThanOrEqual(4096 * 4);
    const checkpointBytesEach = 4 * 65536 * 4;
    // 20 slices of 4 Ki entries (raw + float64) plus the result: about one checkpoint, not twenty.
    expect(plan.stats.peakHeldBytes).toBeLessThanOrEqual(20 * 4096 * 12 + 4096 * 12);
    expect(plan.stats.peakHeldBytes).toBeLessThan(checkpointBytesEach * 3);
  });
});

describe('refusals', () => {
  it('refuses an empty list, bad weights and misplaced parameters with stable codes', async () => {
    const a = ingredient('a', model(1));
    const b = ingredient('b', model(2));
    await expect(planSoup({ method: 'uniform', models: [] })).rejects.toEqual(code('SOUP_INGREDIENTS_EMPTY'));
    await expect(planSoup({ method: 'weighted', models: [a, b], parameters: { weights: [1.2, -0.2] } })).rejects.toEqual(code('SOUP_WEIGHTS_INVALID'));
    await expect(planSoup({ method: 'weighted', models: [a, b], parameters: { weights: [0.5, 0.4] } })).rejects.toEqual(code('SOUP_WEIGHTS_INVALID'));
    await expect(planSoup({ method: 'weighted', models: [a, b], parameters: { weights: [1] } })).rejects.toEqual(code('SOUP_WEIGHTS_INVALID'));
    await expect(planSoup({ method: 'weighted', models: [a, b] })).rejects.toEqual(code('SOUP_WEIGHTS_INVALID'));
    await expect(planSoup({ method: 'weighted', models: [a, b], parameters: { weights: [0.5, 0.5 + 5e-7] } })).resolves.toBeDefined();
    await expect(planSoup({ method: 'uniform', models: [a, b], parameters: { density: 0.5 } })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    await expect(planSoup({ method: 'ties', models: [a, b] })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    await expect(planSoup({ method: 'uniform', base: a, models: [b] })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    await expect(planSoup({ method: 'slerp', base: a, models: [b] })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    await expect(planSoup({ method: 'slerp', base: a, models: [b], parameters: { t: 1.5 } })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    await expect(planSoup({ method: 'model-stock', base: a, models: [b] })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    await expect(planSoup({ method: 'dare-linear', base: a, models: [b], parameters: { density: 0 } })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
    // ⌊0.2 · 4⌋ = 0 entries of conv.bias would survive TIES' trim.
    await expect(planSoup({ method: 'ties', base: a, models: [b], parameters: { density: 0.2 } })).rejects.toEqual(code('SOUP_PARAMETERS_INVALID'));
  });

  it('refuses mismatched names, shapes, dtypes, architectures and lineages, listing the first differences (T-SOUP-5)', async () => {
    const reference = model(1);
    const renamed = model(2).map((t) => (t.name === 'conv.bias' ? { ...t, name: 'conv.b' } : t));
    const reshaped = model(2).map((t) => (t.name === 'conv.weight' ? { ...t, shape: [4, 27] } : t));
    const retyped = model(2).map((t) => (t.name === 'conv.bias' ? { ...t, dtype: 'F16' as const } : t));
    const cases: [TestTensor[], RegExp][] = [
      [renamed, /extra tensor conv\.b$/],
      [reshaped, /conv\.weight has shape \[4, 27\]/],
      [retyped, /conv\.bias is F16/],
    ];
    for (const [other, pattern] of cases) {
      const error = await planSoup({ method: 'uniform', models: [ingredient('a', reference), ingredient('b', other)] }).catch((e: unknown) => e);
      expect(error).toEqual(code('SOUP_INGREDIENTS_INCOMPATIBLE'));
      expect((error as { details: { differences: string[] } }).details.differences.some((d) => pattern.test(d))).toBe(true);
    }
    const missing = await planSoup({ method: 'uniform', models: [ingredient('a', reference), ingredient('b', renamed)] }).catch((e: { details: { differences: string[] } }) => e.details.differences);
    expect(missing).toEqual(['b: extra tensor conv.b', 'b: missing tensor conv.bias']);
    const arch = planSoup({ method: 'uniform', models: [ingredient('a', reference, { architecture: 'resnet18' }), ingredient('b', model(2), { architecture: 'resnet34' })] });
    await expect(arch).rejects.toEqual(code('SOUP_INGREDIENTS_INCOMPATIBLE'));
    const a = { ...ingredient('a', reference), lineage: 'sha256:aaa' };
    const b = { ...ingredient('b', model(2)), lineage: 'sha256:bbb' };
    await expect(planSoup({ method: 'uniform', models: [a, b] })).rejects.toEqual(code('SOUP_INGREDIENTS_INCOMPATIBLE'));
    await expect(planSoup({ method: 'uniform', models: [a, { ...b, lineage: 'sha256:aaa' }] })).resolves.toBeDefined();
  });

  it('a refused soup writes no file; an accepted one records its recipe in the metadata', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'soup-engine-'));
    try {
      const out = join(dir, 'soup.safetensors');
      await expect(writeSoup({ method: 'weighted', models: [ingredient('a', model(1)), ingredient('b', model(2))], parameters: { weights: [0.9, 0.9] } }, out)).rejects.toEqual(
        code('SOUP_WEIGHTS_INVALID'),
      );
      expect(existsSync(out)).toBe(false);
      const written = await writeSoup({ method: 'uniform', models: [ingredient('a', model(1)), ingredient('b', model(2))] }, out);
      expect(written.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.parse(written.plan.metadata['weightsmith.soup'])).toMatchObject({ method: 'uniform' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
