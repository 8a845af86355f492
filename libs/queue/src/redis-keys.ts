import { InvalidArgumentError } from '../../core/src/index.js';

/**
 * Every Redis key and pub/sub channel of one namespace (`p` = the key prefix, REDIS_KEY_PREFIX):
 *
 * | key                           | type   | holds                                                             |
 * |-------------------------------|--------|-------------------------------------------------------------------|
 * | `{p:queue}:pending:<channel>` | zset   | waiting job ids; score = lane·10^15 ± position (see below)        |
 * | `{p:queue}:leases:<channel>`  | zset   | claimed job ids; score = lease end, epoch ms on the Redis clock   |
 * | `{p:queue}:wake:<channel>`    | list   | one token while jobs wait; waiting claimers BLPOP it              |
 * | `{p:queue}:jobs`              | hash   | job id → Job protobuf, while the job waits or is claimed          |
 * | `{p:queue}:meta`              | hash   | job id → lane digit followed by the channel name                  |
 * | `{p:queue}:ids`               | zset   | ids of waiting and claimed jobs (score = id), for list and count  |
 * | `{p:queue}:receipts`          | hash   | job id → receipt of its live claim                                |
 * | `{p:queue}:seq`               | string | counter for positions and receipts                                |
 * | `p:status`                    | hash   | job id → JobStatus of an unfinished job                           |
 * | `p:uniq:<uniq key>`           | string | id of the job holding the uniq key; no TTL, released when final   |
 * | `p:cancel:<job id>`           | string | cancellation mark; expires after the cancel TTL                   |
 * | `p:result:<job id>`           | string | JobResult protobuf kept for late listeners; expires after keepMs  |
 * | `p:node:<n>`                  | string | token of the process leasing node id n for job ids (NodeIdLease)  |
 *
 * Pub/sub channels: `p:cancel` (the id of each cancelled job), `p:result:job:<job id>` and
 * `p:result:worker:<worker id>` (JobResult protobuf).
 *
 * Pending order: lanes are 0 HIGH, 1 MEDIUM, 2 LOW. An enqueued job's position is the next counter value, so it goes
 * behind its lane; a job put back (release, lapsed lease) gets the negated next value, so it goes ahead of its lane.
 *
 * All queue keys share the hash tag `{p:queue}`: on a Cluster they sit in one slot, so every queue operation is one
 * atomic script even when it spans channels (a job id is unique across channels). The other keys are read and written
 * one at a time, so they spread over the Cluster.
 */
export class RedisKeys {
  readonly prefix: string;
  private readonly queueTag: string;

  constructor(prefix: string) {
    if (prefix === '' || /[{}*?[\]\\]/.test(prefix)) {
      throw new InvalidArgumentError(
        `the Redis key prefix must be non-empty without braces or glob characters ({ } * ? [ ] \\), got "${prefix}"`,
      );
    }
    this.prefix = prefix;
    this.queueTag = `{${prefix}:queue}:`;
  }

  pending(channel: string): string {
    return `${this.queueTag}pending:${channel}`;
  }

  leases(channel: string): string {
    return `${this.queueTag}leases:${channel}`;
  }

  wake(channel: string): string {
    return `${this.queueTag}wake:${channel}`;
  }

  get jobs(): string {
    return `${this.queueTag}jobs`;
  }

  get meta(): string {
    return `${this.queueTag}meta`;
  }

  get ids(): string {
    return `${this.queueTag}ids`;
  }

  get receipts(): string {
    return `${this.queueTag}receipts`;
  }

  get seq(): string {
    return `${this.queueTag}seq`;
  }

  get status(): string {
    return `${this.prefix}:status`;
  }

  uniq(uniqKey: string): string {
    return `${this.prefix}:uniq:${uniqKey}`;
  }

  cancelled(jobId: number): string {
    return `${this.prefix}:cancel:${jobId}`;
  }

  /** the pub/sub channel of cancellations */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  result(jobId: number): string {
    return `${this.prefix}:result:${jobId}`;
  }

  /** the pub/sub channel of one job's final result */
  jobResultChannel(jobId: number): string {
    return `${this.prefix}:result:job:${jobId}`;
  }

  /** the pub/sub channel of every result of one worker */
  workerResultChannel(workerId: number): string {
    return `${this.prefix}:result:worker:${workerId}`;
  }

  /** SCAN patterns that match every key of the namespace (and of namespaces whose prefix starts with `p:`). */
  get patterns(): readonly string[] {
    return [`${this.prefix}:*`, `${this.queueTag}*`];
  }
}
