/** Why a running job's AbortSignal fired; the executor turns each into a different outcome. */
export class JobTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
  }
}

export class JobCancelledError extends Error {
  constructor(readonly jobId: number) {
    super(`job ${jobId} was cancelled`);
    this.name = 'JobCancelledError';
  }
}

/** The worker is shutting down and the grace period ran out: the job goes back to the queue, no result. */
export class ShutdownAbortError extends Error {
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownAbortError';
  }
}

/** The queue lease of a running job was lost (renewal failed past its end): another worker may run it now. */
export class LeaseLostError extends Error {
  constructor(readonly jobId: number) {
    super(`lost the lease of job ${jobId}`);
    this.name = 'LeaseLostError';
  }
}
