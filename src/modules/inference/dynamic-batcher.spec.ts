import type { HostTensor } from '../../core/runtime';
import { ServiceError } from '../../core/service-error';
import { DynamicBatcher, type BatcherOptions } from './dynamic-batcher';

/** A fake engine: `y = 10 * x + rowSum`, per row of x:[n, 2] — any row mix-up changes the answer. */
function fakeEngine(delayMs = 5) {
  const batches: number[] = [];
  const run = async (inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> => {
    const x = inputs.x;
    batches.push(x.shape[0]);
    await new Promise((r) => setTimeout(r, delayMs));
    const data = new Float32Array(x.data.length);
    for (let r = 0; r < x.shape[0]; r++) {
      const a = Number(x.data[2 * r]);
      const b = Number(x.data[2 * r + 1]);
      data[2 * r] = 10 * a + a + b;
      data[2 * r + 1] = 10 * b + a + b;
    }
    return { y: { dtype: 'F32', shape: [x.shape[0], 2], data } };
  };
  return { run, batches };
}

const rowsOf = (values: number[][]): HostTensor => ({ dtype: 'F32', shape: [values.length, 2], data: Float32Array.from(values.flat()) });
const expected = (values: number[][]): number[] => values.flatMap(([a, b]) => [11 * a + b, 11 * b + a]);

function batcher(overrides: Partial<BatcherOptions> = {}, engine = fakeEngine()) {
  const sizes: number[] = [];
  const depths: number[] = [];
  const b = new DynamicBatcher({
    maxBatchSize: 8,
    maxQueueDelayMs: 5,
    maxQueueSize: 64,
    batching: true,
    run: engine.run,
    onBatch: (rows) => sizes.push(rows),
    onQueueDepth: (d) => depths.push(d),
    ...overrides,
  });
  return { b, sizes, depths, engine };
}

describe('DynamicBatcher', () => {
  it('batches concurrent requests and gives each its own rows back', async () => {
    const { b, sizes } = batcher();
    const requests = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? [[i, -i], [i + 0.5, 2]] : [[i, i * i]]));
    const answers = await Promise.all(requests.map((values) => b.submit({ x: rowsOf(values) }, values.length, 'k')));
    answers.forEach((out, i) => {
      expect(out.y.shape).toEqual([requests[i].length, 2]);
      expect(Array.from(out.y.data as Float32Array)).toEqual(expected(requests[i]));
    });
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(sizes.every((s) => s <= 8)).toBe(true);
    expect(sizes.reduce((a, c) => a + c, 0)).toBe(16);
  });

  it('never mixes requests with different batch keys', async () => {
    const engine = fakeEngine();
    const { b } = batcher({}, engine);
    const keys = ['a', 'b', 'a', 'b', 'a'];
    const answers = await Promise.all(keys.map((k, i) => b.submit({ x: rowsOf([[i, 1]]) }, 1, k)));
    answers.forEach((out, i) => expect(Array.from(out.y.data as Float32Array)).toEqual(expected([[i, 1]])));
    expect(engine.batches).toEqual([3, 2]);
  });

  it('runs each request alone, in order, when batching is off', async () => {
    const { b, sizes } = batcher({ batching: false });
    await Promise.all([1, 2, 3].map((n) => b.submit({ x: rowsOf(Array.from({ length: n }, () => [n, n])) }, n, 'k')));
    expect(sizes).toEqual([1, 2, 3]);
  });

  it('refuses requests past maxQueueSize with INFERENCE_QUEUE_FULL', async () => {
    const { b } = batcher({ maxQueueSize: 2, maxBatchSize: 1 }, fakeEngine(20));
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => b.submit({ x: rowsOf([[i, i]]) }, 1, 'k')));
    const refused = results.filter((r) => r.status === 'rejected');
    // The first runs at once (not queued), two wait, the rest are refused.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(2);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'INFERENCE_QUEUE_FULL' });
  });

  it('waits up to maxQueueDelayMs for a batch, and no longer', async () => {
    const { b, sizes } = batcher({ maxQueueDelayMs: 30 });
    const started = performance.now();
    const first = b.submit({ x: rowsOf([[1, 1]]) }, 1, 'k');
    await new Promise((r) => setTimeout(r, 10));
    const second = b.submit({ x: rowsOf([[2, 2]]) }, 1, 'k');
    await Promise.all([first, second]);
    expect(sizes).toEqual([2]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('starts at once when maxBatchSize rows are queued', async () => {
    const { b, sizes } = batcher({ maxQueueDelayMs: 10_000, maxBatchSize: 3 });
    await Promise.all([b.submit({ x: rowsOf([[1, 1], [2, 2]]) }, 2, 'k'), b.submit({ x: rowsOf([[3, 3]]) }, 1, 'k')]);
    expect(sizes).toEqual([3]);
  });

  it('fails every request of a failing batch, and keeps serving', async () => {
    let fail = true;
    const engine = fakeEngine();
    const { b } = batcher({
      run: async (inputs) => {
        if (fail) throw new Error('engine exploded');
        return engine.run(inputs);
      },
    });
    const failed = await Promise.allSettled([b.submit({ x: rowsOf([[1, 1]]) }, 1, 'k'), b.submit({ x: rowsOf([[2, 2]]) }, 1, 'k')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(Array.from((await b.submit({ x: rowsOf([[3, 4]]) }, 1, 'k')).y.data as Float32Array)).toEqual(expected([[3, 4]]));
  });

  it('close() fails waiting requests with 503, lets the running batch finish, and refuses new ones', async () => {
    const { b, depths } = batcher({ maxBatchSize: 1 }, fakeEngine(20));
    const running = b.submit({ x: rowsOf([[1, 1]]) }, 1, 'k');
    const waiting = b.submit({ x: rowsOf([[2, 2]]) }, 1, 'k');
    const waitingFailed = expect(waiting).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: 'unloaded' });
    await new Promise((r) => setTimeout(r, 1));
    await b.close('unloaded');
    expect(Array.from((await running).y.data as Float32Array)).toEqual(expected([[1, 1]]));
    await waitingFailed;
    await expect(b.submit({ x: rowsOf([[3, 3]]) }, 1, 'k')).rejects.toBeInstanceOf(ServiceError);
    expect(depths.at(-1)).toBe(0);
  });

  it('fails a batch whose outputs do not keep the batch rows', async () => {
    const { b } = batcher({
      run: async () => ({ y: { dtype: 'F32', shape: [1, 2], data: new Float32Array(2) } }),
    });
    const results = await Promise.allSettled([b.submit({ x: rowsOf([[1, 1]]) }, 1, 'k'), b.submit({ x: rowsOf([[2, 2]]) }, 1, 'k')]);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'INFERENCE_FAILED' });
  });
});
