import type { CliIo } from './build-program.js';
import { buildProgram } from './build-program.js';
import { errorReport, EXIT } from './error-report.js';

/**
 * Runs one command line (`argv` as in process.argv) and returns the exit code: 0 ok, 1 server or connection
 * error, 2 usage error, 130 interrupted. Failures print one line on stderr.
 */
export async function runCli(argv: readonly string[], signal: AbortSignal, io: CliIo): Promise<number> {
  const program = buildProgram(signal, io);
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (err) {
    const report = errorReport(err, signal.aborted);
    if (report.line !== undefined) io.err(`${report.line}\n`);
    return report.exitCode;
  }
}
