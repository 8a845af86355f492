import type { ClientReadableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/src/index.js';
import {
  encodeJobResult,
  jobResultToProto,
  Priority,
  ResponseType,
  ResultStatus,
  silentLogger,
} from '../../core/src/index.js';
import type {
  CreateJobResponse as CreateJobResponseMessage,
  JobResult as JobResultMessage,
} from '../../proto/src/index.js';
import {
  CreateJobResponse,
  JobResultServiceClient,
  JobResultServiceService,
  JobRequest,
  JobServiceClient,
  JobServiceService,
  ListenRequest,
  ListenStreamByWorkerRequest,
} from '../../proto/src/index.js';
import { GrpcServer } from './grpc-server.js';
import { serverStream, unary } from './handlers.js';
import { createJobResponseBytes, preEncoded, PreEncodedReply, withPreEncodedReplies } from './pre-encoded-reply.js';

function result(jobId: number, output: readonly Uint8Array[]): JobResult {
  return {
    id: jobId + 1,
    jobId,
    workerId: 3,
    workerName: 'echo',
    args: new Uint8Array([1]),
    uniqKey: undefined,
    status: ResultStatus.SUCCESS,
    output,
    retried: 0,
    maxRetry: 0,
    priority: Priority.PRIORITY_MEDIUM,
    timeout: 0,
    enqueueTime: 1_700_000_000_000,
    runAfterTime: 0,
    startTime: 0,
    endTime: 0,
    responseType: ResponseType.DIRECT,
    storeSuccess: false,
    storeFailure: false,
  };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('createJobResponseBytes', () => {
  it.each([0, 1, 127, 128, 2 ** 32, 7_300_000_000_000_000, Number.MAX_SAFE_INTEGER])(
    'frames a result exactly as the generated encoder does (job id %d)',
    (jobId) => {
      for (const output of [[], [new Uint8Array(100_000).fill(9)]]) {
        const r = result(jobId, output);
        const expected = CreateJobResponse.encode({ id: { value: jobId }, result: jobResultToProto(r) }).finish();
        expect(hex(createJobResponseBytes(jobId, encodeJobResult(r)))).toBe(hex(expected));
      }
    },
  );

  it('frames an empty result (all defaults) as a present but empty field 2', () => {
    const expected = CreateJobResponse.encode({
      id: { value: 5 },
      result: { id: undefined, data: undefined },
    }).finish();
    const bytes = createJobResponseBytes(5, new Uint8Array(0));
    expect(hex(bytes)).toBe(hex(expected));
    expect(CreateJobResponse.decode(bytes).result).toBeDefined();
  });
});

describe('withPreEncodedReplies', () => {
  it('writes a PreEncodedReply as it is and encodes any other reply with the generated encoder', () => {
    const enqueue = withPreEncodedReplies(JobServiceService).enqueue!;
    const bytes = createJobResponseBytes(9, encodeJobResult(result(9, [])));
    expect(enqueue.responseSerialize(preEncoded<CreateJobResponse>(bytes))).toBe(bytes);
    const plain = { id: { value: 9 }, result: undefined };
    expect(hex(enqueue.responseSerialize(plain))).toBe(hex(CreateJobResponse.encode(plain).finish()));
    // the rest of each method definition is unchanged
    expect({ ...enqueue, responseSerialize: undefined }).toEqual({
      ...JobServiceService.enqueue,
      responseSerialize: undefined,
    });
  });

  it('wraps every method of a service, streaming ones too', () => {
    const wrapped = withPreEncodedReplies(JobResultServiceService);
    expect(Object.keys(wrapped)).toEqual(Object.keys(JobResultServiceService));
    const r = encodeJobResult(result(4, [new Uint8Array([1, 2])]));
    const out = wrapped.listenStreamByWorker!.responseSerialize(new PreEncodedReply(r));
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(hex(out)).toBe(hex(r));
  });
});

describe('pre-encoded replies through GrpcServer', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('reach a generated client as the messages they encode (Enqueue, Listen, ListenStreamByWorker)', async () => {
    const results = [result(11, [new Uint8Array([1, 2, 3])]), result(12, [new Uint8Array(200_000).fill(5)])];
    const bytes = results.map((r) => encodeJobResult(r));
    const jobs: UntypedServiceImplementation = {
      enqueue: unary('Enqueue', silentLogger, async () =>
        preEncoded<CreateJobResponseMessage>(createJobResponseBytes(11, bytes[0]!)),
      ),
    };
    const listening: UntypedServiceImplementation = {
      listen: unary('Listen', silentLogger, async () => preEncoded<JobResultMessage>(bytes[1]!)),
      listenStreamByWorker: serverStream('ListenStreamByWorker', silentLogger, async function* () {
        for (const b of bytes) yield preEncoded<JobResultMessage>(b);
        // a reply that is not pre-encoded still goes through the generated encoder
        yield jobResultToProto(results[0]!);
      }),
    };
    const server = new GrpcServer({
      host: '127.0.0.1',
      port: 0,
      authToken: undefined,
      maxMessageBytes: 4 * 1024 * 1024,
      keepaliveTimeMs: 0,
      keepaliveTimeoutMs: 20_000,
      maxConnectionIdleMs: 0,
      maxConnectionAgeMs: 0,
      maxConnectionAgeGraceMs: 0,
      maxConcurrentStreams: 100,
      maxConnections: 100,
      services: [
        { definition: JobServiceService, implementation: jobs },
        { definition: JobResultServiceService, implementation: listening },
      ],
      logger: silentLogger,
    });
    const port = await server.start();
    stops.push(() => server.stop(100));
    const address = `127.0.0.1:${port}`;
    const jobClient = new JobServiceClient(address, credentials.createInsecure());
    const resultClient = new JobResultServiceClient(address, credentials.createInsecure());
    stops.push(async () => (jobClient.close(), resultClient.close()));

    const enqueued = await new Promise<CreateJobResponseMessage>((resolve, reject) =>
      jobClient.enqueue(JobRequest.fromPartial({}), (err, res) => (err === null ? resolve(res) : reject(err))),
    );
    expect(enqueued.id?.value).toBe(11);
    expect(enqueued.result).toEqual(jobResultToProto(results[0]!));

    const listened = await new Promise<JobResultMessage>((resolve, reject) =>
      resultClient.listen(ListenRequest.fromPartial({}), (err, res) => (err === null ? resolve(res) : reject(err))),
    );
    expect(listened).toEqual(jobResultToProto(results[1]!));

    const stream: ClientReadableStream<JobResultMessage> = resultClient.listenStreamByWorker(
      ListenStreamByWorkerRequest.fromPartial({}),
    );
    const streamed: JobResultMessage[] = [];
    for await (const item of stream) streamed.push(item as JobResultMessage);
    expect(streamed).toEqual([...results, results[0]!].map(jobResultToProto));
  });
});
