import type { Ghn } from '../../core/ghn';

interface Entry {
  ghn: Promise<Ghn>;
  /** Callers inside `use`; an evicted GHN is disposed when the last one leaves. */
  users: number;
  evicted: boolean;
}

/**
 * Loaded GHNs by id, least recently used first out. A GHN holds its weights as tensors (2.6 GB
 * for ghn3xlm16), so only a few are kept and an evicted one is disposed — at once, or when the
 * last `use` of it ends. Concurrent loads of one id share one promise; a failed load is not kept.
 */
export class GhnCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity: number) {}

  /** The cached GHN, loading it on a miss. It may be disposed once evicted: prefer `use` across awaits. */
  get(id: string, load: () => Promise<Ghn>): Promise<Ghn> {
    return this.entry(id, load).ghn;
  }

  /** Runs `fn` with the GHN, which stays undisposed until `fn` settles even if evicted meanwhile. */
  async use<T>(id: string, load: () => Promise<Ghn>, fn: (ghn: Ghn) => T | Promise<T>): Promise<T> {
    const entry = this.entry(id, load);
    entry.users++;
    try {
      return await fn(await entry.ghn);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) release(entry);
    }
  }

  /** Drops a GHN (e.g. deleted), disposing it when no `use` holds it. */
  evict(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.evicted = true;
    if (entry.users === 0) release(entry);
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.evict(id);
  }

  get size(): number {
    return this.entries.size;
  }

  private entry(id: string, load: () => Promise<Ghn>): Entry {
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const entry: Entry = { ghn: load(), users: 0, evicted: false };
    this.entries.set(id, entry);
    entry.ghn.catch(() => {
      if (this.entries.get(id) === entry) this.entries.delete(id);
    });
    while (this.entries.size > this.capacity) this.evict(this.entries.keys().next().value as string);
    return entry;
  }
}

function release(entry: Entry): void {
  entry.ghn.then(
    (ghn) => ghn.dispose(),
    () => undefined,
  );
}
