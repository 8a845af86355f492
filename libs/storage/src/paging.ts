import type { Page } from '../../core/src/index.js';
import { InvalidArgumentError } from '../../core/src/index.js';

/** Rows a list query returns when the page gives no limit. */
export const DEFAULT_PAGE_LIMIT = 1000;
/** The most rows one query returns; larger limits are clamped to it. */
export const MAX_PAGE_LIMIT = 10_000;

/** Validates a page: limit and offset must be non-negative integers; limit defaults and is clamped. */
export function normalizePage(page: Page | undefined): { limit: number; offset: number } {
  return {
    limit: checkLimit(page?.limit ?? DEFAULT_PAGE_LIMIT, 'limit'),
    offset: checkCount(page?.offset ?? 0, 'offset'),
  };
}

/** Validates a query limit and clamps it to MAX_PAGE_LIMIT. */
export function checkLimit(limit: number, what: string): number {
  return Math.min(checkCount(limit, what), MAX_PAGE_LIMIT);
}

function checkCount(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${n}`);
  }
  return n;
}
