const MIN_CAPACITY = 16;

/**
 * A double-ended queue on a ring buffer whose capacity is a power of two: push and shift at either end are O(1)
 * amortised (unlike `Array#shift`, which moves every element). The buffer grows when full and halves when it is
 * less than a quarter used, so a burst does not pin its memory.
 */
export class Deque<T> {
  private buffer: Array<T | undefined> = new Array<T | undefined>(MIN_CAPACITY);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  pushBack(item: T): void {
    if (this.size === this.buffer.length) this.resize(this.buffer.length * 2);
    this.buffer[(this.head + this.size) & (this.buffer.length - 1)] = item;
    this.size += 1;
  }

  pushFront(item: T): void {
    if (this.size === this.buffer.length) this.resize(this.buffer.length * 2);
    this.head = (this.head - 1) & (this.buffer.length - 1);
    this.buffer[this.head] = item;
    this.size += 1;
  }

  /** The first item without taking it, or undefined when empty. */
  first(): T | undefined {
    return this.size === 0 ? undefined : this.buffer[this.head];
  }

  /** Takes the first item, or undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & (this.buffer.length - 1);
    this.size -= 1;
    if (this.buffer.length > MIN_CAPACITY && this.size < this.buffer.length / 4) this.resize(this.buffer.length / 2);
    return item;
  }

  /** Removes the first item that matches, keeping the order of the rest; O(n). */
  removeFirst(predicate: (item: T) => boolean): T | undefined {
    const mask = this.buffer.length - 1;
    for (let i = 0; i < this.size; i += 1) {
      const item = this.buffer[(this.head + i) & mask] as T;
      if (!predicate(item)) continue;
      for (let j = i; j < this.size - 1; j += 1) {
        this.buffer[(this.head + j) & mask] = this.buffer[(this.head + j + 1) & mask];
      }
      this.buffer[(this.head + this.size - 1) & mask] = undefined;
      this.size -= 1;
      return item;
    }
    return undefined;
  }

  private resize(capacity: number): void {
    const next = new Array<T | undefined>(capacity);
    const mask = this.buffer.length - 1;
    for (let i = 0; i < this.size; i += 1) next[i] = this.buffer[(this.head + i) & mask];
    this.buffer = next;
    this.head = 0;
  }
}
