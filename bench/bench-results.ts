/** Everything one run measured, by system and scenario (written as is to the JSON result file). */
import type { RoundTripFigures } from './measure-round-trips.js';
import type { ThroughputFigures } from './measure-throughput.js';
import type { QueuedMemoryFigures } from './redis-memory.js';

export interface BenchResults {
  readonly scalable: {
    readonly throughput: ThroughputFigures;
    /** the worker process, after the throughput run */
    readonly workerPeakRssBytes: number | undefined;
    readonly direct: RoundTripFigures;
    readonly queuedMemory: QueuedMemoryFigures;
  };
  readonly standalone: {
    readonly throughput: ThroughputFigures;
    /** the all-in-one process (front and worker in one), after the throughput run */
    readonly allInOnePeakRssBytes: number | undefined;
    readonly direct: RoundTripFigures;
  };
  readonly bullmq: {
    readonly throughput: ThroughputFigures;
    /** the Worker's process, after the throughput run */
    readonly workerPeakRssBytes: number | undefined;
    readonly direct: RoundTripFigures;
    readonly queuedMemory: QueuedMemoryFigures;
  };
}
