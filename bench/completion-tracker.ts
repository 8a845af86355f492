/**
 * Records when each job's completion was seen by a listener (our result stream, BullMQ's QueueEvents), and counts
 * the completions of the jobs a phase enqueued. A completion may arrive before the enqueue call that made the job
 * has returned its id, so both orders are matched: expect(id) after record(id) counts as well.
 */
import { performance } from 'node:perf_hooks';

export class CompletionTracker {
  private readonly doneAt = new Map<string, number>();
  private readonly expected = new Set<string>();
  private matchedCount = 0;
  private waiter: { readonly target: number; readonly resolve: () => void } | undefined;

  /** A listener saw the job complete (first sighting wins: a re-delivered job counts once). */
  record(jobId: string): void {
    if (this.doneAt.has(jobId)) return;
    this.doneAt.set(jobId, performance.now());
    if (this.expected.has(jobId)) this.matched();
  }

  /** Starts a phase: forgets earlier jobs, so stragglers of an earlier phase are not counted in this one. */
  startPhase(): void {
    this.doneAt.clear();
    this.expected.clear();
    this.matchedCount = 0;
  }

  /** The current phase enqueued this job. */
  expect(jobId: string): void {
    if (this.expected.has(jobId)) return;
    this.expected.add(jobId);
    if (this.doneAt.has(jobId)) this.matched();
  }

  /** performance.now() at which the job's completion was seen; undefined if not seen. */
  timeOf(jobId: string): number | undefined {
    return this.doneAt.get(jobId);
  }

  /** Resolves once `count` expected jobs of this phase have completed; rejects after timeoutMs naming `what`. */
  async waitForCompletions(count: number, timeoutMs: number, what: string): Promise<void> {
    if (this.matchedCount >= count) return;
    if (this.waiter !== undefined) throw new Error('CompletionTracker: one wait at a time');
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.waiter = { target: count, resolve };
        timer = setTimeout(() => {
          this.waiter = undefined;
          const seen = `${this.matchedCount} of ${count} seen`;
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private matched(): void {
    this.matchedCount += 1;
    if (this.waiter !== undefined && this.matchedCount >= this.waiter.target) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }
}
