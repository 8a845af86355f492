/** Conversions between the wire messages (libs/proto) and the domain model. */
import * as pb from '../../proto/src/index.js';
import type { Job, JobResult, RetryPolicy, Runner, Worker, WorkerSpec } from './model.js';
import { NO_RETRY } from './model.js';

const bytes = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export function retryPolicyFromProto(p: pb.RetryPolicy | undefined): RetryPolicy {
  if (p === undefined) return NO_RETRY;
  return {
    type: p.type,
    interval: p.interval,
    maxInterval: p.maxInterval,
    maxRetry: p.maxRetry,
    basis: p.basis === 0 ? 2 : p.basis,
  };
}

export function retryPolicyToProto(p: RetryPolicy): pb.RetryPolicy {
  return { type: p.type, interval: p.interval, maxInterval: p.maxInterval, maxRetry: p.maxRetry, basis: p.basis };
}

export function workerSpecFromProto(d: pb.WorkerData): WorkerSpec {
  return {
    name: d.name,
    runnerId: d.runnerId?.value ?? 0,
    runnerSettings: d.runnerSettings,
    retryPolicy: retryPolicyFromProto(d.retryPolicy),
    periodicInterval: d.periodicInterval,
    channel: d.channel === undefined || d.channel === '' ? undefined : d.channel,
    queueType: d.queueType,
    responseType: d.responseType,
    storeSuccess: d.storeSuccess,
    storeFailure: d.storeFailure,
    nextWorkers: d.nextWorkers.map((w) => w.value),
    useStatic: d.useStatic,
  };
}

export function workerDataToProto(w: WorkerSpec): pb.WorkerData {
  return {
    name: w.name,
    runnerId: { value: w.runnerId },
    runnerSettings: bytes(w.runnerSettings),
    retryPolicy: retryPolicyToProto(w.retryPolicy),
    periodicInterval: w.periodicInterval,
    channel: w.channel,
    queueType: w.queueType,
    responseType: w.responseType,
    storeSuccess: w.storeSuccess,
    storeFailure: w.storeFailure,
    nextWorkers: w.nextWorkers.map((value) => ({ value })),
    useStatic: w.useStatic,
  };
}

export function workerToProto(w: Worker): pb.Worker {
  return { id: { value: w.id }, data: workerDataToProto(w) };
}

export function runnerToProto(r: Runner): pb.Runner {
  return {
    id: { value: r.id },
    data: {
      name: r.name,
      runnerType: r.type,
      runnerSettingsProto: r.settingsProto,
      jobArgsProto: r.argsProto,
      resultOutputProto: r.resultProto,
    },
  };
}

export function jobToProto(j: Job): pb.Job {
  return {
    id: { value: j.id },
    data: {
      workerId: { value: j.workerId },
      args: bytes(j.args),
      uniqKey: j.uniqKey,
      enqueueTime: j.enqueueTime,
      grabbedUntilTime: j.grabbedUntilTime,
      runAfterTime: j.runAfterTime,
      retried: j.retried,
      priority: j.priority,
      timeout: j.timeout,
    },
  };
}

export function jobFromProto(j: pb.Job): Job {
  const d = j.data;
  return {
    id: j.id?.value ?? 0,
    workerId: d?.workerId?.value ?? 0,
    args: d?.args ?? Buffer.alloc(0),
    uniqKey: d?.uniqKey,
    enqueueTime: d?.enqueueTime ?? 0,
    grabbedUntilTime: d?.grabbedUntilTime,
    runAfterTime: d?.runAfterTime ?? 0,
    retried: d?.retried ?? 0,
    priority: d?.priority ?? pb.Priority.PRIORITY_MEDIUM,
    timeout: d?.timeout ?? 0,
  };
}

export function jobResultToProto(r: JobResult): pb.JobResult {
  return {
    id: { value: r.id },
    data: {
      jobId: { value: r.jobId },
      workerId: { value: r.workerId },
      workerName: r.workerName,
      args: bytes(r.args),
      uniqKey: r.uniqKey,
      status: r.status,
      output: { items: r.output.map(bytes) },
      retried: r.retried,
      maxRetry: r.maxRetry,
      priority: r.priority,
      timeout: r.timeout,
      enqueueTime: r.enqueueTime,
      runAfterTime: r.runAfterTime,
      startTime: r.startTime,
      endTime: r.endTime,
      responseType: r.responseType,
      storeSuccess: r.storeSuccess,
      storeFailure: r.storeFailure,
    },
  };
}

export function jobResultFromProto(r: pb.JobResult): JobResult {
  const d = r.data;
  return {
    id: r.id?.value ?? 0,
    jobId: d?.jobId?.value ?? 0,
    workerId: d?.workerId?.value ?? 0,
    workerName: d?.workerName ?? '',
    args: d?.args ?? Buffer.alloc(0),
    uniqKey: d?.uniqKey,
    status: d?.status ?? pb.ResultStatus.SUCCESS,
    output: d?.output?.items ?? [],
    retried: d?.retried ?? 0,
    maxRetry: d?.maxRetry ?? 0,
    priority: d?.priority ?? pb.Priority.PRIORITY_MEDIUM,
    timeout: d?.timeout ?? 0,
    enqueueTime: d?.enqueueTime ?? 0,
    runAfterTime: d?.runAfterTime ?? 0,
    startTime: d?.startTime ?? 0,
    endTime: d?.endTime ?? 0,
    responseType: d?.responseType ?? pb.ResponseType.NO_RESULT,
    storeSuccess: d?.storeSuccess ?? false,
    storeFailure: d?.storeFailure ?? false,
  };
}

/** Protobuf bytes of a Job, as queues carry it. */
export function encodeJob(j: Job): Uint8Array {
  return pb.Job.encode(jobToProto(j)).finish();
}

export function decodeJob(b: Uint8Array): Job {
  return jobFromProto(pb.Job.decode(b));
}

/** Protobuf bytes of a JobResult, as result channels carry it. */
export function encodeJobResult(r: JobResult): Uint8Array {
  return pb.JobResult.encode(jobResultToProto(r)).finish();
}

export function decodeJobResult(b: Uint8Array): JobResult {
  return jobResultFromProto(pb.JobResult.decode(b));
}
