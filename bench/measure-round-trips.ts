/**
 * The DIRECT round-trip scenario, the same for every system: one job at a time, each call returning only once the
 * job's result is back (our DIRECT Enqueue; BullMQ's `add` then `job.waitUntilFinished`). The latency of a round
 * trip runs from issuing the call to having the result. Warm-up trips run first, unmeasured.
 */
import { performance } from 'node:perf_hooks';
import { latencyPercentiles } from './latency-percentiles.js';

/** Runs job number `index` and resolves once its result is back. */
export type RoundTrip = (index: number) => Promise<void>;

export interface RoundTripFigures {
  readonly trips: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** trips / total time of the measured trips */
  readonly perSecond: number;
}

export async function measureRoundTrips(
  roundTrip: RoundTrip,
  trips: number,
  warmupTrips: number,
): Promise<RoundTripFigures> {
  for (let i = 0; i < warmupTrips; i++) await roundTrip(i);
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < trips; i++) {
    const sent = performance.now();
    await roundTrip(i);
    latencies.push(performance.now() - sent);
  }
  const seconds = (performance.now() - start) / 1000;
  return { trips, ...latencyPercentiles(latencies), perSecond: trips / seconds };
}
