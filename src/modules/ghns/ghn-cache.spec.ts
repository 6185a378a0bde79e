import type { Ghn } from '../../core/ghn';
import { GhnCache } from './ghn-cache';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A stand-in GHN: only dispose() matters to the cache. */
function fakeGhn(id: string): Ghn {
  let disposed = false;
  return {
    id,
    dispose: () => {
      disposed = true;
    },
    get isDisposed() {
      return disposed;
    },
  } as unknown as Ghn;
}

describe('GhnCache', () => {
  let loads: string[];
  const loader = (id: string) => async () => {
    loads.push(id);
    return fakeGhn(id);
  };
  beforeEach(() => {
    loads = [];
  });

  it('loads each GHN once, concurrent requests included', async () => {
    const cache = new GhnCache(2);
    const [a1, a2] = await Promise.all([cache.get('a', loader('a')), cache.get('a', loader('a'))]);
    expect(a1).toBe(a2);
    expect(await cache.get('a', loader('a'))).toBe(a1);
    expect(loads).toEqual(['a']);
  });

  it('disposes the least recently used GHN past its capacity', async () => {
    const cache = new GhnCache(2);
    const a = await cache.get('a', loader('a'));
    const b = await cache.get('b', loader('b'));
    await cache.get('a', loader('a')); // a is now the most recent
    const c = await cache.get('c', loader('c'));
    await tick();
    expect([a.isDisposed, b.isDisposed, c.isDisposed]).toEqual([false, true, false]);
    expect(cache.size).toBe(2);
    expect(await cache.get('b', loader('b'))).not.toBe(b);
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('keeps a GHN in use until its callback settles, even when evicted', async () => {
    const cache = new GhnCache(1);
    let seen: Ghn | undefined;
    const result = await cache.use('a', loader('a'), async (ghn) => {
      seen = ghn;
      await cache.get('b', loader('b')); // evicts a
      await tick();
      return ghn.isDisposed;
    });
    expect(result).toBe(false);
    await tick();
    expect(seen?.isDisposed).toBe(true);
  });

  it('drops failed loads and evicted ids, disposing everything on clear', async () => {
    const cache = new GhnCache(2);
    await expect(cache.get('x', async () => Promise.reject(new Error('no weights')))).rejects.toThrow('no weights');
    await tick();
    expect(cache.size).toBe(0);
    const a = await cache.get('a', loader('a'));
    cache.evict('a');
    await tick();
    expect(a.isDisposed).toBe(true);
    const b = await cache.get('b', loader('b'));
    cache.clear();
    await tick();
    expect([b.isDisposed, cache.size]).toEqual([true, 0]);
  });
});
