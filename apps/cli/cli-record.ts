/** A JSON value as the CLI prints it. */
export type CliValue = string | number | boolean | null | CliValue[] | { [key: string]: CliValue };

/**
 * One printed record (a runner, a worker, a job, a result): snake_case keys as in the .proto files, times as ISO
 * strings, enums by name, payloads decoded. `--format json` prints it as is, one object per line.
 */
export type CliRecord = Record<string, CliValue>;
