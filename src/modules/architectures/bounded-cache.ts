/**
 * A least-recently-used cache of derived documents (SVGs, GHN graphs) bounded by their total size.
 * Values are promises, so concurrent requests for the same key share one computation; a failed
 * computation is not kept.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; size: number }>();
  private total = 0;

  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string, compute: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = compute();
    const entry = { value, size: 0 };
    this.entries.set(key, entry);
    value.then(
      (v) => {
        if (this.entries.get(key) !== entry) return;
        entry.size = this.sizeOf(v);
        this.total += entry.size;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.total <= this.maxSize) return;
      if (entry.size === 0) continue; // still computing
      this.entries.delete(key);
      this.total -= entry.size;
    }
  }
}
