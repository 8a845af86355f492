import { Pool } from 'undici';

/**
 * Keep-alive connection pools for HTTP_REQUEST runners, one undici Pool per origin (scheme, host and port), shared
 * by every runner created from the same definition, so that jobs to one API reuse connections.
 *
 * Idle pooled sockets are unref'd by undici and never keep the process alive; `close()` ends them all, for tests and
 * owners that want a clean stop. A pool is created on first use.
 */
export class HttpRequestPools {
  private readonly pools = new Map<string, Pool>();

  /** The pool for `origin` (e.g. `https://api.example.com:8443`), created on first use. */
  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes every pool (in-flight requests finish first) and forgets them; later get() calls start new pools. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }
}
