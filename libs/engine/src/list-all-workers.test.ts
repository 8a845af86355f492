/** Listing every worker goes past the page size a single query is clamped to. */
import { describe, expect, it } from 'vitest';
import { QueueType, ResponseType, RetryType } from '../../core/src/index.js';
import { MAX_PAGE_LIMIT, openSqliteStorage } from '../../storage/src/index.js';
import { listAllWorkers } from './list-all-workers.js';

describe('listAllWorkers', () => {
  it('returns every worker when there are more than one page of them', async () => {
    const storage = await openSqliteStorage({ path: ':memory:' });
    try {
      await storage.migrate();
      const total = MAX_PAGE_LIMIT + 3;
      for (let i = 0; i < total; i++) {
        await storage.workers.create({
          name: `w${i}`,
          runnerId: 1,
          runnerSettings: new Uint8Array(),
          retryPolicy: { type: RetryType.NONE, interval: 0, maxInterval: 0, maxRetry: 0, basis: 2 },
          periodicInterval: 0,
          channel: undefined,
          queueType: QueueType.NORMAL,
          responseType: ResponseType.NO_RESULT,
          storeSuccess: false,
          storeFailure: false,
          nextWorkers: [],
          useStatic: false,
        });
      }
      const all = await listAllWorkers(storage.workers);
      expect(all).toHaveLength(total);
      expect(new Set(all.map((w) => w.id)).size).toBe(total);
      expect(all.at(-1)?.name).toBe(`w${total - 1}`);
    } finally {
      await storage.close();
    }
  }, 120_000);
});
