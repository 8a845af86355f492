/**
 * Values by key, loaded on a miss and kept for a short time so hot paths (Enqueue, dispatch) do not read the RDB
 * per job. invalidate() drops an entry at once when this process learns of a change; the TTL bounds staleness for
 * changes made elsewhere. Misses (undefined) are cached too, for the same TTL.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V | undefined; until: number }>();
  /** loads in flight: concurrent misses of one key share one load */
  private readonly loading = new Map<K, Promise<V | undefined>>();

  constructor(
    private readonly load: (key: K) => Promise<V | undefined>,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: K): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > this.now()) return hit.value;
    let pending = this.loading.get(key);
    if (pending === undefined) {
      pending = this.load(key).then(
        (value) => {
          if (this.loading.get(key) === pending) {
            this.loading.delete(key);
            if (this.entries.size >= this.maxEntries) this.entries.clear();
            this.entries.set(key, { value, until: this.now() + this.ttlMs });
          }
          return value;
        },
        (err: unknown) => {
          if (this.loading.get(key) === pending) this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Drops the entry (and forgets a load in flight, whose value may be stale). */
  invalidate(key: K): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }
}
