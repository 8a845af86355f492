/** The longest delay setTimeout honours; Node fires longer ones after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Calls `fire` once after `ms` milliseconds, however long: delays beyond setTimeout's limit (about 24.8 days) are
 * chained instead of truncated to 1 ms, and `Infinity` never fires. Returns a function that cancels the timer.
 */
export function startDeadlineTimer(ms: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => (left > step ? arm(left - step) : fire()), step);
  };
  if (ms !== Infinity) arm(ms);
  return () => clearTimeout(timer);
}
