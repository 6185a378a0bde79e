import { BoundedCache } from './bounded-cache';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('BoundedCache', () => {
  it('shares one computation between concurrent requests for a key', async () => {
    const cache = new BoundedCache<string>(100, (v) => v.length);
    let calls = 0;
    const compute = async () => `value-${++calls}`;
    const [a, b] = await Promise.all([cache.get('k', compute), cache.get('k', compute)]);
    expect([a, b, calls]).toEqual(['value-1', 'value-1', 1]);
  });

  it('evicts the least recently used entries past its size', async () => {
    const cache = new BoundedCache<string>(10, (v) => v.length);
    let calls = 0;
    const make = (v: string) => async () => {
      calls++;
      return v;
    };
    await cache.get('a', make('aaaa'));
    await cache.get('b', make('bbbb'));
    await settle();
    await cache.get('a', make('aaaa')); // a is now the most recent
    await cache.get('c', make('cccc')); // 12 > 10: b goes
    await settle();
    expect(calls).toBe(3);
    await cache.get('a', make('aaaa'));
    expect(calls).toBe(3);
    await cache.get('b', make('bbbb'));
    expect(calls).toBe(4);
  });

  it('does not keep a failed computation', async () => {
    const cache = new BoundedCache<string>(100, (v) => v.length);
    await expect(cache.get('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await settle();
    await expect(cache.get('k', async () => 'ok')).resolves.toBe('ok');
  });
});
