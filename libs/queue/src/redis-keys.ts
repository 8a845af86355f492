import { InvalidArgumentError } from '../../core/src/index.js';

/**
 * Every Redis key and pub/sub channel of one namespace (`p` = the key prefix, REDIS_KEY_PREFIX):
 *
 * | key                                  | type   | holds                                                             |
 * |--------------------------------------|--------|-------------------------------------------------------------------|
 * | `{p:queue}:pending:<channel>:<lane>` | list   | waiting ids of one lane (0 HIGH, 1 MEDIUM, 2 LOW), FIFO           |
 * | `{p:queue}:leases:<channel>`         | zset   | claimed job ids; score = lease end (epoch ms, Redis clock)        |
 * | `{p:queue}:wake:<channel>`           | list   | one token while jobs wait; waiting claimers BLPOP it              |
 * | `{p:queue}:done:<channel>`           | hash   | 5-second bucket → claims ended in it (last minute; then expires)  |
 * | `{p:queue}:jobs`                     | hash   | job id → lane digit, channel, \n, Job protobuf (waiting, claimed) |
 * | `{p:queue}:receipts`                 | hash   | job id → receipt of its live claim                                |
 * | `{p:queue}:seq`                      | string | counter for receipts                                              |
 * | `{p:queue}:wait-result`              | set    | claimed job ids marked WAIT_RESULT                                |
 * | `{p:queue}:status`                   | hash   | job id → JobStatus of an unfinished job not in the queue          |
 * | `{p:queue}:uniq`                     | hash   | uniq key → id of the job holding it; released when final          |
 * | `{p:queue}:results`                  | hash   | job id → JobResult protobuf kept for late listeners               |
 * | `{p:queue}:results:expiry`           | zset   | kept result ids; score = when the result expires, epoch ms        |
 * | `{p:queue}:processes`                | hash   | instance id → JSON entry of a live process (ProcessRegistry)      |
 * | `{p:queue}:heartbeats`               | zset   | instance ids; score = last heartbeat (epoch ms, Redis clock)      |
 * | `p:cancel:<job id>`                  | string | cancellation mark; expires after the cancel TTL                   |
 * | `p:node:<n>`                         | string | token of the process leasing node id n (NodeIdLease)              |
 *
 * Pub/sub channels: `p:cancel` (the id of each cancelled job), `p:result:job:<job id>` and
 * `p:result:worker:<worker id>` (JobResult protobuf), `p:due-rows` (RDB rows became due: RedisWakeChannel).
 *
 * A waiting job costs one id in a lane list and one field of the jobs hash (what a queued job costs in Redis memory);
 * its status is derived from where it is (waiting; claimed: a live receipt; WAIT_RESULT: marked). Removing a waiting
 * job deletes only its record: its id stays in the lane until a claim passes it, so a channel's waiting count (the
 * lanes' lengths, checked against maxPendingPerChannel) may include removed jobs until then.
 *
 * All `{p:queue}` keys share one hash tag: on a Cluster they sit in one slot, so every queue operation (with the
 * statuses, uniq keys and kept results it touches) is one atomic script even when it spans channels (a job id is
 * unique across channels). The other keys are read and written one at a time, so they spread over the Cluster.
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

  /** the waiting ids of one lane of a channel (0 HIGH, 1 MEDIUM, 2 LOW) */
  pending(channel: string, lane: number): string {
    return `${this.queueTag}pending:${channel}:${lane}`;
  }

  /** the three lanes of a channel, HIGH first */
  lanes(channel: string): [string, string, string] {
    return [this.pending(channel, 0), this.pending(channel, 1), this.pending(channel, 2)];
  }

  leases(channel: string): string {
    return `${this.queueTag}leases:${channel}`;
  }

  wake(channel: string): string {
    return `${this.queueTag}wake:${channel}`;
  }

  /** the channel's completion buckets (see completion-rate.ts) */
  done(channel: string): string {
    return `${this.queueTag}done:${channel}`;
  }

  /** SCAN patterns of the per-channel keys, and how to read the channel name back from a key that matches */
  get channelKeyPatterns(): ReadonlyArray<{ readonly match: string; readonly channelOf: (key: string) => string }> {
    const after = (kind: string) => `${this.queueTag}${kind}:`;
    return [
      { match: `${after('pending')}*`, channelOf: (key) => key.slice(after('pending').length, -2) },
      { match: `${after('leases')}*`, channelOf: (key) => key.slice(after('leases').length) },
      { match: `${after('done')}*`, channelOf: (key) => key.slice(after('done').length) },
    ];
  }

  get jobs(): string {
    return `${this.queueTag}jobs`;
  }

  get receipts(): string {
    return `${this.queueTag}receipts`;
  }

  get seq(): string {
    return `${this.queueTag}seq`;
  }

  get waitResult(): string {
    return `${this.queueTag}wait-result`;
  }

  get status(): string {
    return `${this.queueTag}status`;
  }

  get uniq(): string {
    return `${this.queueTag}uniq`;
  }

  get results(): string {
    return `${this.queueTag}results`;
  }

  get resultsExpiry(): string {
    return `${this.queueTag}results:expiry`;
  }

  get processes(): string {
    return `${this.queueTag}processes`;
  }

  get heartbeats(): string {
    return `${this.queueTag}heartbeats`;
  }

  cancelled(jobId: number): string {
    return `${this.prefix}:cancel:${jobId}`;
  }

  /** the pub/sub channel of cancellations */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** the pub/sub channel of one job's final result */
  jobResultChannel(jobId: number): string {
    return `${this.jobResultChannelPrefix}${jobId}`;
  }

  /** the pub/sub channel of every result of one worker */
  workerResultChannel(workerId: number): string {
    return `${this.workerResultChannelPrefix}${workerId}`;
  }

  /** what jobResultChannel puts before the job id (scripts build the channel from it) */
  get jobResultChannelPrefix(): string {
    return `${this.prefix}:result:job:`;
  }

  /** what workerResultChannel puts before the worker id */
  get workerResultChannelPrefix(): string {
    return `${this.prefix}:result:worker:`;
  }

  /** a node id NodeIdLease leases (0 ≤ n < NODE_ID_COUNT) */
  node(nodeId: number): string {
    return `${this.prefix}:node:${nodeId}`;
  }

  /** the pub/sub channel of "RDB rows are due" hints (RedisWakeChannel) */
  get dueRowsChannel(): string {
    return `${this.prefix}:due-rows`;
  }

  /** SCAN patterns that match every key of the namespace (and of namespaces whose prefix starts with `p:`). */
  get patterns(): readonly string[] {
    return [`${this.prefix}:*`, `${this.queueTag}*`];
  }
}
