#!/usr/bin/env node
/**
 * jobworkerp-client: the command-line client (see docs/cli.md). The first Ctrl-C cancels the calls in flight
 * (`job-result listen-stream` then ends with exit code 0); a second one exits at once.
 */
import { EXIT } from './error-report.js';
import { dropIpServerNameWarning } from './ip-server-name-warning.js';
import { runCli } from './run-cli.js';

dropIpServerNameWarning();
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
  interrupt.abort();
});
// `jobworkerp-client ... | head`: a closed pipe is not an error; stdout failing otherwise is
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  process.exit(err.code === 'EPIPE' ? EXIT.ok : EXIT.failure);
});

process.exitCode = await runCli(process.argv, interrupt.signal, {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  input: () => process.stdin,
  note: (text) => {
    if (process.stderr.isTTY) process.stderr.write(text);
  },
});
