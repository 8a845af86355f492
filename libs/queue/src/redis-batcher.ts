import { InternalError } from '../../core/src/index.js';

interface Entry<Item, Outcome> {
  readonly item: Item;
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

/** The calls of one key not sent yet, how many batches are on their way, and whether a send is scheduled. */
interface Lane<Item, Outcome> {
  readonly waiting: Array<Entry<Item, Outcome>>;
  inFlight: number;
  scheduled: boolean;
}

/**
 * Coalesces calls into batches, one lane per key (a channel): the first call of an idle key goes out at the end of
 * the current event-loop turn together with the calls made meanwhile; while `maxInFlight` batches of the key are on
 * their way, later calls wait and go out together as the next batch. A lone call costs one round trip; under load
 * each round trip carries many calls, up to `maxBatch`. Batches of a key leave in call order.
 */
export class RedisBatcher<Item, Outcome> {
  private readonly lanes = new Map<string, Lane<Item, Outcome>>();

  /**
   * @param send sends one batch of a key and returns one outcome per item, in order; a rejection fails the batch
   * @param maxBatch the most items per batch
   * @param maxInFlight the most batches of one key on their way at once
   */
  constructor(
    private readonly send: (key: string, items: readonly Item[]) => Promise<readonly Outcome[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
  ) {}

  add(key: string, item: Item): Promise<Outcome> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { waiting: [], inFlight: 0, scheduled: false };
      this.lanes.set(key, lane);
    }
    const entered = lane;
    return new Promise<Outcome>((resolve, reject) => {
      entered.waiting.push({ item, resolve, reject });
      if (!entered.scheduled && entered.inFlight < this.maxInFlight) {
        entered.scheduled = true;
        setImmediate(() => {
          entered.scheduled = false;
          this.pump(key, entered);
        });
      }
    });
  }

  /** Sends batches while the lane has calls waiting and room in flight; forgets the lane once it is idle. */
  private pump(key: string, lane: Lane<Item, Outcome>): void {
    while (lane.waiting.length > 0 && lane.inFlight < this.maxInFlight) {
      const batch = lane.waiting.splice(0, this.maxBatch);
      lane.inFlight += 1;
      void this.sendBatch(key, batch).finally(() => {
        lane.inFlight -= 1;
        this.pump(key, lane);
      });
    }
    if (lane.waiting.length === 0 && lane.inFlight === 0 && !lane.scheduled) this.lanes.delete(key);
  }

  private async sendBatch(key: string, batch: ReadonlyArray<Entry<Item, Outcome>>): Promise<void> {
    try {
      const outcomes = await this.send(
        key,
        batch.map((entry) => entry.item),
      );
      if (outcomes.length !== batch.length) {
        throw new InternalError(`a batch of ${batch.length} calls got ${outcomes.length} outcomes`);
      }
      batch.forEach((entry, i) => entry.resolve(outcomes[i] as Outcome));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
