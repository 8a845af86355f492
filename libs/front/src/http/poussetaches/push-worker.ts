/**
 * The HTTP_REQUEST worker that delivers the pushes of the poussetaches API: created at start when absent, and brought
 * back to the configured settings when it differs (a new POUSSETACHES_AUTH_KEY takes effect at the next start).
 */
import type { Logger, Worker, WorkerSpec } from '../../../../core/src/index.js';
import { AlreadyExistsError, QueueType, ResponseType, RetryType } from '../../../../core/src/index.js';
import { HttpRequestRunnerSettings } from '../../../../proto/src/index.js';
import { HTTP_REQUEST_RUNNER_ID } from '../../../../runners/src/index.js';
import type { Storage } from '../../../../storage/src/index.js';

/** The header that carries POUSSETACHES_AUTH_KEY to receivers, as poussetaches sent it. */
export const AUTH_KEY_HEADER = 'Poussetaches-Auth-Key';

/** Each retry waits this many times longer than the one before (poussetaches: 1 s, 4 s, 16 s...). */
export const RETRY_BASIS = 4;

export interface PushWorkerOptions {
  readonly workerName: string;
  /** the worker's channel; undefined = the default channel */
  readonly channel?: string | undefined;
  /** the shared key sent to receivers; none = no header */
  readonly authKey: string | undefined;
  readonly maxTries: number;
  readonly retryBaseMs: number;
  readonly requestTimeoutMs: number;
}

/** The name of the pause switch of a push worker (storage switches). */
export const pauseSwitchOf = (workerName: string): string => `poussetaches:${workerName}`;

/** The worker spec the options ask for. */
export function pushWorkerSpec(options: PushWorkerOptions): WorkerSpec {
  const settings = HttpRequestRunnerSettings.fromPartial({
    baseUrl: '',
    allowAnyOrigin: true,
    pushEnvelope: true,
    requestTimeoutMs: options.requestTimeoutMs,
    pauseSwitch: pauseSwitchOf(options.workerName),
    sharedKeyHeader: options.authKey === undefined ? undefined : { name: AUTH_KEY_HEADER, key: options.authKey },
  });
  return {
    name: options.workerName,
    runnerId: HTTP_REQUEST_RUNNER_ID,
    runnerSettings: HttpRequestRunnerSettings.encode(settings).finish(),
    retryPolicy: {
      type: RetryType.EXPONENTIAL,
      interval: options.retryBaseMs,
      maxInterval: 0,
      maxRetry: options.maxTries - 1,
      basis: RETRY_BASIS,
    },
    periodicInterval: 0,
    channel: options.channel,
    // a task is in the RDB from its push to its end: it survives restarts, and GET /waiting can list it
    queueType: QueueType.WITH_BACKUP,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: true,
    storeFailure: true,
    nextWorkers: [],
    useStatic: false,
  };
}

/**
 * Finds or creates the push worker; updates it when its spec differs from the options. Refuses a worker of that name
 * that another runner runs (it is someone else's). Returns the worker and whether it was changed.
 */
export async function ensurePushWorker(
  storage: Pick<Storage, 'workers'>,
  options: PushWorkerOptions,
  logger: Logger,
): Promise<{ worker: Worker; changed: boolean }> {
  const spec = pushWorkerSpec(options);
  for (let attempt = 0; ; attempt++) {
    const found = await storage.workers.findByName(spec.name);
    if (found === undefined) {
      try {
        const worker = await storage.workers.create(spec);
        logger.info({ workerId: worker.id, worker: worker.name }, 'created the poussetaches push worker');
        return { worker, changed: true };
      } catch (err) {
        // another front created it at the same time: take that one
        if (err instanceof AlreadyExistsError && attempt < 3) continue;
        throw err;
      }
    }
    if (found.runnerId !== HTTP_REQUEST_RUNNER_ID) {
      throw new Error(
        `POUSSETACHES_WORKER names worker "${spec.name}", which does not run HTTP_REQUEST; name another worker`,
      );
    }
    if (sameSpec(found, spec)) return { worker: found, changed: false };
    await storage.workers.update(found.id, spec);
    logger.info({ workerId: found.id, worker: found.name }, 'updated the poussetaches push worker to its settings');
    return { worker: { ...spec, id: found.id }, changed: true };
  }
}

function sameSpec(a: WorkerSpec, b: WorkerSpec): boolean {
  return (
    Buffer.from(a.runnerSettings).equals(Buffer.from(b.runnerSettings)) &&
    a.retryPolicy.type === b.retryPolicy.type &&
    a.retryPolicy.interval === b.retryPolicy.interval &&
    a.retryPolicy.maxInterval === b.retryPolicy.maxInterval &&
    a.retryPolicy.maxRetry === b.retryPolicy.maxRetry &&
    a.retryPolicy.basis === b.retryPolicy.basis &&
    a.periodicInterval === b.periodicInterval &&
    a.channel === b.channel &&
    a.queueType === b.queueType &&
    a.responseType === b.responseType &&
    a.storeSuccess === b.storeSuccess &&
    a.storeFailure === b.storeFailure &&
    a.nextWorkers.length === 0 &&
    a.useStatic === b.useStatic
  );
}
