import type { RunnerServiceServer } from '../../proto/src/index.js';
import type { Logger } from '../../core/src/index.js';
import { InvalidArgumentError, runnerToProto } from '../../core/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { BUILTIN_RUNNERS } from '../../runners/src/index.js';
import { serverStream, unary } from './handlers.js';

export interface RunnerServiceDeps {
  readonly storage: Pick<Storage, 'runners' | 'workers'>;
  readonly logger: Logger;
}

/** jobworkerp.service.RunnerService: the runners workers can use (built-ins and plugins). */
export function runnerService({ storage, logger }: RunnerServiceDeps): RunnerServiceServer {
  const name = (m: string): string => `RunnerService/${m}`;
  return {
    delete: unary(name('Delete'), logger, async (req) => {
      const id = req.value;
      if (BUILTIN_RUNNERS.some((r) => r.id === id)) {
        throw new InvalidArgumentError(`runner ${id} is built in and cannot be deleted`);
      }
      return { isSuccess: await storage.runners.delete(id) };
    }),
    find: unary(name('Find'), logger, async (req) => {
      const runner = await storage.runners.find(req.value);
      return { data: runner === undefined ? undefined : runnerToProto(runner) };
    }),
    findList: serverStream(name('FindList'), logger, async function* (req) {
      for (const runner of await storage.runners.list(req)) yield runnerToProto(runner);
    }),
    count: unary(name('Count'), logger, async () => ({ total: await storage.runners.count() })),
  };
}
