/**
 * Values by key, loaded on a miss and kept for a short time so hot paths (Enqueue, dispatch) do not read the RDB
 * per job. invalidate() drops an entry at once when this process learns of a change; the TTL bounds staleness for
 * changes made elsewhere. Misses (undefined) are cached too, for the same TTL.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V | undefined; until: number }>();

  constructor(
    private readonly load: (key: K) => Promise<V | undefined>,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: K): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > this.now()) return hit.value;
    const value = await this.load(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
    return value;
  }

  invalidate(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
