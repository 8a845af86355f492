import type { Worker } from '../../core/src/index.js';
import type { WorkerRepository } from '../../storage/src/index.js';
import { MAX_PAGE_LIMIT } from '../../storage/src/index.js';

/** Every worker row, read page by page (one query returns at most MAX_PAGE_LIMIT rows), in id order. */
export async function listAllWorkers(workers: Pick<WorkerRepository, 'list'>): Promise<Worker[]> {
  const all: Worker[] = [];
  for (let offset = 0; ; offset += MAX_PAGE_LIMIT) {
    const page = await workers.list({ limit: MAX_PAGE_LIMIT, offset });
    all.push(...page);
    if (page.length < MAX_PAGE_LIMIT) return all;
  }
}
