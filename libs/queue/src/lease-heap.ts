/** What the heap needs of a lease: its end, and a slot where the heap keeps the lease's position. */
export interface HeapLease {
  leaseUntil: number;
  /** maintained by LeaseHeap; -1 when not in a heap */
  heapIndex: number;
}

/**
 * A binary min-heap of leases by `leaseUntil`. Each lease knows its position, so removing a lease (ack) or moving
 * its end (renew) costs O(log n) and leaves no stale entries behind.
 */
export class LeaseHeap<T extends HeapLease> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The lease that ends first. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(lease: T): void {
    lease.heapIndex = this.items.length;
    this.items.push(lease);
    this.siftUp(lease.heapIndex);
  }

  pop(): T | undefined {
    const first = this.items[0];
    if (first !== undefined) this.remove(first);
    return first;
  }

  /** Takes the lease out; does nothing when it is not in this heap. */
  remove(lease: T): void {
    const index = lease.heapIndex;
    if (this.items[index] !== lease) return;
    const last = this.items.pop() as T;
    lease.heapIndex = -1;
    if (last === lease) return;
    this.place(last, index);
    this.update(last);
  }

  /** Restores the order after the lease's `leaseUntil` changed. */
  update(lease: T): void {
    if (this.items[lease.heapIndex] !== lease) return;
    this.siftUp(lease.heapIndex);
    this.siftDown(lease.heapIndex);
  }

  private siftUp(start: number): void {
    let index = start;
    const lease = this.items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.items[parentIndex] as T;
      if (parent.leaseUntil <= lease.leaseUntil) break;
      this.place(parent, index);
      index = parentIndex;
    }
    this.place(lease, index);
  }

  private siftDown(start: number): void {
    let index = start;
    const lease = this.items[index] as T;
    const count = this.items.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= count) break;
      const right = left + 1;
      let child = left;
      if (right < count && (this.items[right] as T).leaseUntil < (this.items[left] as T).leaseUntil) child = right;
      const smaller = this.items[child] as T;
      if (smaller.leaseUntil >= lease.leaseUntil) break;
      this.place(smaller, index);
      index = child;
    }
    this.place(lease, index);
  }

  private place(lease: T, index: number): void {
    this.items[index] = lease;
    lease.heapIndex = index;
  }
}
