import type { JsonValue } from '../../libs/client/src/index.js';

/** A JSON value as the CLI prints it. */
export type CliValue = JsonValue;

/**
 * One printed record (a runner, a worker, a job, a result): snake_case keys as in the .proto files, times as ISO
 * strings, enums by name, payloads decoded. `--format json` prints it as is, one object per line.
 */
export type CliRecord = Record<string, CliValue>;
