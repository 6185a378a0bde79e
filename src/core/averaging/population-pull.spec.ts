import { serializeSafetensors } from '../formats/safetensors';
import { readAll } from '../formats/tensor-set';
import { bufferSource } from '../io/random-access';
import type { NamedArrays } from './batchnorm';
import { papa2, papa2Pairs, papaAll, papaPull, populationMean } from './papa';
import { layoutDifferences, planPopulationPull, pullRule, tensorLayout, type PullRule } from './population-pull';
import { readSafetensorsHeader } from '../formats/safetensors';

/** Member j's state: a float32 weight with irregular values, a float64 bias and an int64 counter. */
function state(j: number): NamedArrays {
  return {
    w: Float32Array.from({ length: 37 }, (_, i) => Math.sin(j * 7.3 + i * 1.1) * (j + 1) + i / 3),
    b: Float64Array.from({ length: 5 }, (_, i) => j * 0.1 - i / 7),
    count: BigInt64Array.from([BigInt(100 + j)]),
  };
}

function file(m: NamedArrays): Uint8Array {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  return serializeSafetensors(
    [
      { name: 'w', dtype: 'F32', shape: [37], data: bytes(m.w) },
      { name: 'b', dtype: 'F64', shape: [5], data: bytes(m.b) },
      { name: 'count', dtype: 'I64', shape: [1], data: bytes(m.count) },
    ],
    { owner: String(m.b[0]) },
  );
}

async function pulled(members: NamedArrays[], self: number | null, rule: PullRule, chunkElements?: number): Promise<{ w: Float32Array; b: Float64Array; count: BigInt64Array; metadata: unknown }> {
  const plan = await planPopulationPull({ members: members.map((m, j) => ({ label: `member ${j}`, source: bufferSource(file(m)) })), self, rule, chunkElements });
  const byName = new Map(await Promise.all(plan.tensors.map(async (t) => [t.name, await readAll(t)] as const)));
  const view = <T>(name: string, C: new (b: ArrayBuffer) => T): T => new C(byName.get(name)!.slice().buffer);
  return { w: view('w', Float32Array), b: view('b', Float64Array), count: view('count', BigInt64Array), metadata: plan.metadata };
}

const P = 4;

describe('population pull (streamed PAPA over a snapshot)', () => {
  it.each([undefined, 3])('PAPA equals papaPull on the same states, bit for bit (chunk %s)', async (chunk) => {
    const members = Array.from({ length: P }, (_, j) => state(j));
    const expected = members.map((m) => ({ ...m, w: m.w.slice(), b: (m.b as Float64Array).slice() }));
    papaPull(expected, 0.9);
    for (const self of [0, 2]) {
      const got = await pulled(members, self, { variant: 'papa', alpha: 0.9 }, chunk);
      expect(Array.from(got.w)).toEqual(Array.from(expected[self].w as Float32Array));
      expect(Array.from(got.b)).toEqual(Array.from(expected[self].b as Float64Array));
      // Integer buffers are the member's own; the metadata too.
      expect(got.count[0]).toBe(BigInt(100 + self));
      expect(got.metadata).toEqual({ owner: String(members[self].b[0]) });
    }
  });

  it('PAPA-all and the plain mean equal papaAll / populationMean; PAPA-2 equals papa2 for the member pair', async () => {
    const members = Array.from({ length: P }, (_, j) => state(j));
    const all = members.map((m) => ({ ...m, w: m.w.slice(), b: (m.b as Float64Array).slice() }));
    papaAll(all);
    const got = await pulled(members, 1, { variant: 'papa-all' }, 5);
    expect(Array.from(got.w)).toEqual(Array.from(all[1].w as Float32Array));
    const mean = await pulled(members, null, { variant: 'papa', alpha: 0.5 });
    expect(Array.from(mean.b)).toEqual(Array.from(populationMean(members).b));
    expect(mean.count[0]).toBe(100n);

    const pairs = papa2Pairs(P, 7, 20);
    const two = members.map((m) => ({ ...m, w: m.w.slice(), b: (m.b as Float64Array).slice() }));
    papa2(two, pairs);
    const rule = pullRule('papa-2', { alpha: null, every: 10, seed: 7, step: 20, count: P, self: 3 });
    expect(rule).toEqual({ variant: 'papa-2', pair: pairs[3] });
    const got2 = await pulled(members, 3, rule);
    expect(Array.from(got2.w)).toEqual(Array.from(two[3].w as Float32Array));
    expect(Array.from(got2.b)).toEqual(Array.from(two[3].b as Float64Array));
  });

  it('no pull off the schedule, at α = 1 or for a lone member: the bytes come back unchanged', async () => {
    expect(pullRule('papa', { alpha: 0.99, every: 10, seed: 0, step: 15, count: 3, self: 0 })).toEqual({ variant: 'none' });
    expect(pullRule('papa', { alpha: 1, every: 1, seed: 0, step: 15, count: 3, self: 0 })).toEqual({ variant: 'none' });
    expect(pullRule('papa-all', { alpha: null, every: 1, seed: 0, step: 3, count: 1, self: 0 })).toEqual({ variant: 'none' });
    expect(pullRule('papa', { alpha: 0.99, every: 10, seed: 0, step: 30, count: 3, self: 0 })).toEqual({ variant: 'papa', alpha: 0.99 });
    const members = [state(0), state(1)];
    const got = await pulled(members, 1, { variant: 'none' });
    expect(Array.from(got.w)).toEqual(Array.from(members[1].w as Float32Array));
  });

  it('refuses members whose layouts differ, and reports what differs', async () => {
    const other = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [36], data: new Uint8Array(144) }]);
    const request = { members: [{ label: 'member 0', source: bufferSource(file(state(0))) }, { label: 'member 1', source: bufferSource(other) }], self: 0, rule: { variant: 'papa-all' } as const };
    await expect(planPopulationPull(request)).rejects.toMatchObject({ code: 'SOUP_INGREDIENTS_INCOMPATIBLE' });
    const a = tensorLayout(await readSafetensorsHeader(bufferSource(file(state(0)))));
    const b = tensorLayout(await readSafetensorsHeader(bufferSource(other)));
    expect(layoutDifferences(a, b)).toEqual(['b: missing', 'count: missing', 'w: shape [36], expected [37]']);
    expect(layoutDifferences(a, a)).toEqual([]);
  });
});
