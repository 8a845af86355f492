import type { CallOptions, ClientReadableStream, ClientUnaryCall, ServiceError } from '@grpc/grpc-js';
import { credentials, Metadata } from '@grpc/grpc-js';
import {
  JobResultServiceClient,
  JobServiceClient,
  JobStatusServiceClient,
  JobRestoreServiceClient,
  RunnerServiceClient,
  WorkerServiceClient,
} from '../../libs/proto/src/index.js';

export interface Clients {
  runner: RunnerServiceClient;
  worker: WorkerServiceClient;
  job: JobServiceClient;
  jobResult: JobResultServiceClient;
  jobStatus: JobStatusServiceClient;
  jobRestore: JobRestoreServiceClient;
  close(): void;
}

export function connect(address: string): Clients {
  const creds = credentials.createInsecure();
  const c = {
    runner: new RunnerServiceClient(address, creds),
    worker: new WorkerServiceClient(address, creds),
    job: new JobServiceClient(address, creds),
    jobResult: new JobResultServiceClient(address, creds),
    jobStatus: new JobStatusServiceClient(address, creds),
    jobRestore: new JobRestoreServiceClient(address, creds),
  };
  return { ...c, close: () => Object.values(c).forEach((client) => client.close()) };
}

type UnaryFn<Req, Res> = (
  req: Req,
  md: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;
type ReqOf<F> = F extends UnaryFn<infer Req, unknown> ? Req : never;
type ResOf<F> = F extends UnaryFn<never, infer Res> ? Res : never;

/** Calls a unary method by name and returns a promise; metadata optional. */
export function call<C extends object, K extends keyof C & string>(
  client: C,
  method: K,
  req: ReqOf<C[K]>,
  metadata: Metadata = new Metadata(),
): Promise<ResOf<C[K]>> {
  const fn = client[method] as unknown as UnaryFn<ReqOf<C[K]>, ResOf<C[K]>>;
  return new Promise((res, rej) => {
    fn.call(client, req, metadata, {}, (err, out) => (err === null ? res(out) : rej(err)));
  });
}

/** Collects every message of a server stream. */
export function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((res, rej) => {
    const items: T[] = [];
    stream.on('data', (d: T) => items.push(d));
    stream.on('error', rej);
    stream.on('end', () => res(items));
  });
}

/** Awaits a rejection and returns the gRPC error. */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}
