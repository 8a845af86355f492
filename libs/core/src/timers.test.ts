import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDeadlineTimer } from './timers.js';

describe('startDeadlineTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once after the delay', () => {
    const fire = vi.fn();
    startDeadlineTimer(200, fire);
    vi.advanceTimersByTime(199);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('honours delays longer than setTimeout allows instead of firing at once', () => {
    const fire = vi.fn();
    const thirtyDays = 30 * 24 * 3_600_000;
    startDeadlineTimer(thirtyDays, fire);
    vi.advanceTimersByTime(thirtyDays - 1);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('never fires for Infinity, and not after being cancelled', () => {
    const never = vi.fn();
    const cancelled = vi.fn();
    startDeadlineTimer(Infinity, never);
    const cancel = startDeadlineTimer(100, cancelled);
    cancel();
    vi.advanceTimersByTime(1_000_000);
    expect(never).not.toHaveBeenCalled();
    expect(cancelled).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
