import { AdamCm, type AdamCmOptions } from './adam-cm';

/** f(x) = ½‖x‖² (gradient = x) from (1, −2), one tensor, as the reference trace. */
function trace(options: Partial<AdamCmOptions>, steps: number) {
  const opt = new AdamCm({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, topC: 2, decay: 0.7, ...options });
  const x = Float32Array.of(1, -2);
  const path: number[][] = [];
  for (let s = 0; s < steps; s++) {
    opt.step(new Map([['x', x]]), new Map([['x', x.slice()]]));
    path.push([...x]);
  }
  return { opt, path, priorities: () => [...(opt.state().arrays['x.cm_priorities'] as Float64Array)].sort((a, b) => a - b) };
}

function expectClose(actual: number[], expected: number[], tol = 1e-5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
}

describe('AdamCm (Adam with critical momenta)', () => {
  it('reproduces the reference trace with decay 0.7 (positions and decayed priorities)', () => {
    const expected = [
      [1, -2],
      [0.255863, -1.255863],
      [-0.074963, -0.911805],
      [-0.16625, -0.777626],
      [-0.236371, -0.641513],
      [-0.285844, -0.507507],
    ];
    const priorities = [[1.565248], [1.095673, 1.565248], [0.897164, 1.095673], [0.640417, 0.766971], [0.53688, 0.556639], [0.389648, 0.478572]];
    const opt = new AdamCm({ lr: 0.1, topC: 2, decay: 0.7 });
    const x = Float32Array.of(1, -2);
    for (let s = 0; s < 6; s++) {
      opt.step(new Map([['x', x]]), new Map([['x', x.slice()]]));
      expectClose([...x], expected[s]);
      expectClose([...(opt.state().arrays['x.cm_priorities'] as Float64Array)].sort((a, b) => a - b), priorities[s]);
    }
  });

  it('reproduces the reference trace with decay 0.99 (insertions rejected from step 3 on)', () => {
    const { path, priorities } = trace({ decay: 0.99 }, 6);
    const expected = [
      [1, -2],
      [0.255863, -1.255863],
      [-0.074963, -0.911805],
      [-0.336222, -0.627055],
      [-0.547321, -0.38351],
      [-0.719204, -0.170667],
    ];
    path.forEach((p, i) => expectClose(p, expected[i]));
    expectClose(priorities(), [2.105214, 2.126478]);
  });

  it('does not move parameters on the first step and stores the raw gradient', () => {
    const { opt, path } = trace({}, 1);
    expect(path[0]).toEqual([1, -2]);
    const s = opt.state().arrays;
    expect([...(s['x.cm_buffer'] as Float32Array).slice(0, 2)]).toEqual([1, -2]);
    expect(s['x.cm_priorities']).toHaveLength(1);
  });

  it('uses the sum of per-tensor gradient norms as the synced priority (3 + 4 = 7, not 5)', () => {
    const opt = new AdamCm({ lr: 0.1, decay: 0.5 });
    const params = new Map([
      ['a', Float32Array.of(0)],
      ['b', Float32Array.of(0)],
    ]);
    opt.step(params, new Map([['a', Float32Array.of(3)], ['b', Float32Array.of(-4)]]));
    expect([...(opt.state().arrays['a.cm_priorities'] as Float64Array)]).toEqual([3.5]);
    const unsynced = new AdamCm({ lr: 0.1, decay: 0.5, synced: false });
    unsynced.step(params, new Map([['a', Float32Array.of(3)], ['b', Float32Array.of(-4)]]));
    expect([...(unsynced.state().arrays['b.cm_priorities'] as Float64Array)]).toEqual([2]);
  });

  it('applies decoupled weight decay, including on the first step', () => {
    const opt = new AdamCm({ lr: 0.1, weightDecay: 0.1 });
    const p = Float32Array.of(2);
    opt.step(new Map([['p', p]]), new Map([['p', Float32Array.of(1)]]));
    expect(p[0]).toBeCloseTo(2 * 0.99, 6);
  });

  it('rejects invalid configurations', () => {
    expect(() => new AdamCm({ lr: 0.1, topC: 0 })).toThrow(/topC/);
    expect(() => new AdamCm({ lr: 0.1, topC: 1.5 })).toThrow(/topC/);
    expect(() => new AdamCm({ lr: 0.1, decay: 1 })).toThrow(/decay/);
    expect(() => new AdamCm({ lr: NaN })).toThrow(/lr/);
  });

  it('with kappa 0 is plain Adam', () => {
    const { path } = trace({ kappa: 0 }, 3);
    expectClose(path[0], [0.9, -1.9]);
    expectClose(path[1], [0.800412, -1.800166]);
    expectClose(path[2], [0.701586, -1.700623]);
  });

  it('resumes from a saved state on the identical trajectory (buffer, priorities, sums, steps)', () => {
    const full = trace({ criticalTest: 0.5, seed: 7 }, 8).path;
    const first = trace({ criticalTest: 0.5, seed: 7 }, 4);
    const saved = JSON.parse(JSON.stringify(first.opt.state(), (_k, v: unknown) => (ArrayBuffer.isView(v) ? { t: v.constructor.name, d: [...(v as Float32Array)] } : v)));
    const revived = {
      step: saved.step,
      arrays: Object.fromEntries(
        Object.entries(saved.arrays as Record<string, { t: string; d: number[] }>).map(([k, v]) => [k, v.t === 'Float64Array' ? Float64Array.from(v.d) : Float32Array.from(v.d)]),
      ),
    };
    const resumed = new AdamCm({ lr: 0.1, topC: 2, decay: 0.7, criticalTest: 0.5, seed: 99 });
    resumed.load(revived);
    const x = Float32Array.from(first.path[3]);
    for (let s = 4; s < 8; s++) {
      resumed.step(new Map([['x', x]]), new Map([['x', x.slice()]]));
      expect([...x]).toEqual(full[s]);
    }
  });
});
