/** Listing every worker goes past the page size a single query is clamped to. */
import { describe, expect, it } from 'vitest';
import { workerSpecFromProto } from '../../core/src/index.js';
import { MAX_PAGE_LIMIT, openSqliteStorage } from '../../storage/src/index.js';
import { workerData } from '../../../test/support/worker-data.js';
import { listAllWorkers } from './list-all-workers.js';

describe('listAllWorkers', () => {
  it('returns every worker when there are more than one page of them', async () => {
    const storage = await openSqliteStorage({ path: ':memory:' });
    try {
      await storage.migrate();
      const total = MAX_PAGE_LIMIT + 3;
      for (let i = 0; i < total; i++) {
        await storage.workers.create(
          workerSpecFromProto(workerData({ name: `w${i}`, runnerId: { value: 1 }, runnerSettings: Buffer.alloc(0) })),
        );
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
