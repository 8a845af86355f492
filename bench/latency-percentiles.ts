/** Percentiles of a set of latencies, nearest-rank method (the value below which p% of the samples fall). */

export interface LatencyPercentiles {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** p in (0, 100]; samples need not be sorted. Throws on an empty set: a figure is never made up. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('no samples to take a percentile of');
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function latencyPercentiles(samples: readonly number[]): LatencyPercentiles {
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}
