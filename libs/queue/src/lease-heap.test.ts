import { describe, expect, it } from 'vitest';
import type { HeapLease } from './lease-heap.js';
import { LeaseHeap } from './lease-heap.js';

interface TestLease extends HeapLease {
  readonly id: number;
}

/** a small deterministic generator, so a failure can be replayed */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('LeaseHeap', () => {
  it('always yields the earliest lease, through pushes, removals and updates', () => {
    const next = random(42);
    const heap = new LeaseHeap<TestLease>();
    const live = new Set<TestLease>();
    for (let id = 0; id < 5_000; id += 1) {
      const roll = next();
      if (roll < 0.5 || live.size === 0) {
        const lease: TestLease = { id, leaseUntil: Math.floor(next() * 1_000), heapIndex: -1 };
        heap.push(lease);
        live.add(lease);
      } else {
        const victim = [...live][Math.floor(next() * live.size)]!;
        if (roll < 0.7) {
          heap.remove(victim);
          live.delete(victim);
          heap.remove(victim); // a second removal is a no-op
        } else if (roll < 0.9) {
          victim.leaseUntil = Math.floor(next() * 1_000);
          heap.update(victim);
        } else {
          const popped = heap.pop()!;
          expect(popped.leaseUntil).toBe(Math.min(...[...live].map((l) => l.leaseUntil)));
          live.delete(popped);
        }
      }
      expect(heap.size).toBe(live.size);
      if (live.size > 0) expect(heap.peek()!.leaseUntil).toBe(Math.min(...[...live].map((l) => l.leaseUntil)));
    }
    const order: number[] = [];
    for (let lease = heap.pop(); lease !== undefined; lease = heap.pop()) order.push(lease.leaseUntil);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.length).toBe(live.size);
  });
});
