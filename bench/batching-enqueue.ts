/**
 * Batch enqueue as an EnqueueJob: single-job calls are gathered into batches of `batchSize` (a smaller batch goes
 * out at the next event-loop turn), sent with one call, and each caller gets its own job's id. The same adapter
 * serves our EnqueueBatch and BullMQ's addBulk, so both get batches of the same size; with `concurrency` callers in
 * flight, `concurrency ÷ batchSize` batch calls are in flight.
 */
import type { EnqueueJob } from './measure-throughput.js';

/** Sends the jobs with these indexes in one call; resolves with their ids, in the same order. */
export type EnqueueBatch = (indexes: readonly number[]) => Promise<readonly string[]>;

interface Waiting {
  readonly index: number;
  resolve(id: string): void;
  reject(err: unknown): void;
}

export function batchingEnqueue(batchSize: number, send: EnqueueBatch): EnqueueJob {
  let waiting: Waiting[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, batchSize);
      waiting = waiting.slice(batchSize);
      send(batch.map((w) => w.index))
        .then(
          (ids) => {
            if (ids.length !== batch.length)
              throw new Error(`a batch of ${batch.length} jobs answered ${ids.length} ids`);
            batch.forEach((w, i) => w.resolve(ids[i]!));
          },
          (err: unknown) => batch.forEach((w) => w.reject(err)),
        )
        .catch((err: unknown) => batch.forEach((w) => w.reject(err)));
    }
  };
  return (index) =>
    new Promise<string>((resolve, reject) => {
      waiting.push({ index, resolve, reject });
      if (waiting.length >= batchSize) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
