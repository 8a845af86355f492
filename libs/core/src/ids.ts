/**
 * Time-ordered 53-bit ids that fit a JavaScript number and an SQL BIGINT:
 * 40 bits of ms since 2024-01-01 (35 years), 6 bits of node id (64 processes), 7 bits of sequence (128 ids per ms
 * per process).
 * Ids from one generator strictly increase, also across restarts (they start from the clock).
 */
export interface IdGenerator {
  next(): number;
}

const EPOCH_MS = Date.UTC(2024, 0, 1);
const NODE_BITS = 6;
const SEQ_BITS = 7;
const SEQ_MAX = 2 ** SEQ_BITS - 1;

export class TimeOrderedIdGenerator implements IdGenerator {
  private lastMs = 0;
  private seq = 0;

  constructor(
    private readonly nodeId = 0,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= 2 ** NODE_BITS) {
      throw new RangeError(`node id must be 0..${2 ** NODE_BITS - 1}, got ${nodeId}`);
    }
  }

  next(): number {
    let ms = Math.max(this.now() - EPOCH_MS, this.lastMs);
    if (ms === this.lastMs) {
      if (this.seq === SEQ_MAX) {
        // this millisecond is used up: borrow the next one (ids stay unique and ordered)
        ms += 1;
        this.seq = 0;
      } else {
        this.seq += 1;
      }
    } else {
      this.seq = 0;
    }
    this.lastMs = ms;
    return (ms * 2 ** NODE_BITS + this.nodeId) * 2 ** SEQ_BITS + this.seq;
  }

  /** A generator for another node id whose ids continue after this one's: they still increase. */
  withNodeId(nodeId: number): TimeOrderedIdGenerator {
    const next = new TimeOrderedIdGenerator(nodeId, this.now);
    // the millisecond of the last id counts as used up: the next id takes a later one
    next.lastMs = this.lastMs;
    next.seq = SEQ_MAX;
    return next;
  }
}

/** How many distinct node ids there are (processes that may generate ids at once). */
export const NODE_ID_COUNT = 2 ** NODE_BITS;
