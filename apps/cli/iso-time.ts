/** Epoch milliseconds as an ISO 8601 string; 0 (unset) is null. */
export function isoTime(ms: number | undefined): string | null {
  if (ms === undefined || ms === 0) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
