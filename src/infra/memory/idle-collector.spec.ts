import { EventEmitter } from 'node:events';
import { IdleCollector, fullGarbageCollection } from './idle-collector';

describe('IdleCollector', () => {
  function setup(idleMs = 5000) {
    let now = 0;
    const collections: number[] = [];
    const collector = new IdleCollector(() => collections.push(now), idleMs, () => now);
    return { collector, collections, advance: (ms: number) => (now += ms) };
  }

  it('collects once the server has been quiet for idleMs after a request, and only once per quiet spell', () => {
    const { collector, collections, advance } = setup();
    expect(collector.tick()).toBe(false); // nothing happened yet
    collector.started();
    collector.finished();
    advance(4999);
    expect(collector.tick()).toBe(false);
    advance(1);
    expect(collector.tick()).toBe(true);
    advance(60_000);
    expect(collector.tick()).toBe(false);
    expect(collections).toEqual([5000]);
  });

  it('never collects while a request is in flight', () => {
    const { collector, collections, advance } = setup();
    collector.started();
    collector.started();
    collector.finished();
    advance(60_000);
    expect(collector.tick()).toBe(false);
    collector.finished();
    advance(5000);
    expect(collector.tick()).toBe(true);
    expect(collections).toHaveLength(1);
  });

  it('counts a request once whether its response finishes, closes, or both', () => {
    const { collector, advance } = setup();
    const res = new EventEmitter();
    collector.middleware()({ path: '/v1/checkpoints' } as never, res as never, () => undefined);
    res.emit('finish');
    res.emit('close');
    const other = new EventEmitter();
    collector.middleware()({ path: '/v1/checkpoints' } as never, other as never, () => undefined); // still in flight
    advance(10_000);
    expect(collector.tick()).toBe(false);
    other.emit('close');
    advance(10_000);
    expect(collector.tick()).toBe(true);
  });

  it('ignores the requests it is told to (probes)', () => {
    const { collector, advance } = setup();
    const probe = new EventEmitter();
    collector.middleware((path) => path.startsWith('/health/'))({ path: '/health/live' } as never, probe as never, () => undefined);
    probe.emit('finish');
    advance(10_000);
    expect(collector.tick()).toBe(false);
  });

  it('gives back the memory of dead buffers', async () => {
    const gc = fullGarbageCollection();
    expect(typeof gc).toBe('function');
    const external = () => process.memoryUsage().external;
    let buffers: Buffer[] | null = Array.from({ length: 8 }, () => Buffer.alloc(8e6, 1));
    const held = external();
    expect(buffers.length).toBe(8);
    buffers = null;
    gc!();
    await new Promise((r) => setTimeout(r, 50));
    gc!();
    expect(held - external()).toBeGreaterThan(50e6);
  });
});
