import { describe, expect, it } from 'vitest';
import { Deque } from './deque.js';

function drain<T>(deque: Deque<T>): T[] {
  const out: T[] = [];
  for (let item = deque.shift(); item !== undefined; item = deque.shift()) out.push(item);
  return out;
}

describe('Deque', () => {
  it('is FIFO from the back and LIFO from the front, across growth and wrap-around', () => {
    const deque = new Deque<number>();
    const model: number[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      if (i % 3 === 0) {
        deque.pushFront(i);
        model.unshift(i);
      } else {
        deque.pushBack(i);
        model.push(i);
      }
      if (i % 5 === 0) expect(deque.shift()).toBe(model.shift());
    }
    expect(deque.length).toBe(model.length);
    expect(drain(deque)).toEqual(model);
    expect(deque.length).toBe(0);
    expect(deque.shift()).toBeUndefined();
  });

  it('shrinks after a burst and keeps working', () => {
    const deque = new Deque<number>();
    for (let i = 0; i < 10_000; i += 1) deque.pushBack(i);
    for (let i = 0; i < 9_990; i += 1) expect(deque.shift()).toBe(i);
    deque.pushFront(-1);
    deque.pushBack(10_000);
    expect(drain(deque)).toEqual([-1, 9_990, 9_991, 9_992, 9_993, 9_994, 9_995, 9_996, 9_997, 9_998, 9_999, 10_000]);
  });

  it('removes the first match and keeps the order of the rest', () => {
    const deque = new Deque<number>();
    for (let i = 0; i < 20; i += 1) deque.pushBack(i);
    for (let i = 0; i < 10; i += 1) deque.shift();
    for (let i = 0; i < 10; i += 1) deque.pushFront(100 + i); // wraps around the buffer's start
    expect(deque.removeFirst((n) => n === 100)).toBe(100);
    expect(deque.removeFirst((n) => n === 15)).toBe(15);
    expect(deque.removeFirst((n) => n === 15)).toBeUndefined();
    expect(deque.length).toBe(18);
    expect(drain(deque)).toEqual([109, 108, 107, 106, 105, 104, 103, 102, 101, 10, 11, 12, 13, 14, 16, 17, 18, 19]);
  });
});
