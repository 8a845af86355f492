import { Readable } from 'node:stream';
import { Command } from 'commander';
import { actionFactory } from './action-factory.js';
import { addDeadLetterCommand } from './commands/add-dead-letter-command.js';
import { addJobCommand } from './commands/add-job-command.js';
import { addJobResultCommand } from './commands/add-job-result-command.js';
import { addJobStatusCommand } from './commands/add-job-status-command.js';
import { addRunnerCommand } from './commands/add-runner-command.js';
import { addScheduleCommand } from './commands/add-schedule-command.js';
import { addSysInfoCommand } from './commands/add-sys-info-command.js';
import { addWorkerCommand } from './commands/add-worker-command.js';
import { oneLine } from './error-report.js';
import { addGlobalOptions, GLOBAL_FLAGS } from './global-options.js';
import { checkRequiredAfterUnknown } from './required-options.js';
import { packageVersion } from './version.js';
import { withExamples } from './with-examples.js';

/** Where the CLI writes: stdout for records and help, stderr for errors and notes. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** a note on what a command waits for; main.ts writes it on stderr only when stderr is a terminal */
  note?(text: string): void;
  /** what `job enqueue-stream` reads (stdin); nothing when not given */
  input?(): NodeJS.ReadableStream;
}

const GLOBAL_HELP = `
Global options go before the command, the command's own options after it. So in
  jobworkerp-client -t 5000 job enqueue -w echo -t 200
the first -t is the deadline of each gRPC call and the second is the job's timeout
(likewise -a: the server address before the command, job args after "job enqueue").

Exit codes: 0 ok, 1 server or connection error (one line "error: CODE: message"),
2 usage error (bad option, bad JSON, a field the runner's schema does not know).`;

/**
 * The `jobworkerp-client` command tree. Commander never exits the process: errors come back as CommanderError
 * (see exitOverride) and are printed on one line.
 */
export function buildProgram(signal: AbortSignal, io: CliIo): Command {
  const program = new Command('jobworkerp-client')
    .description('Command-line client for a jobworkerp cluster (runners, workers, jobs, results).')
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError()
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) => write(`${usageLine(text)}\n`),
    });
  addGlobalOptions(program);
  program.addHelpText('after', GLOBAL_HELP);
  withExamples(
    program,
    `jobworkerp-client worker create --name echo --runner-id 1 --settings '{"name":"echo"}' --store-success --store-failure`,
    `jobworkerp-client job enqueue --worker echo --args '{"args":["hello"]}'`,
    'jobworkerp-client -a http://10.0.0.5:9000 --format json job-result list',
  );
  const action = actionFactory(
    program,
    signal,
    (text) => io.out(text),
    (text) => io.note?.(text),
  );
  addRunnerCommand(program, action);
  addWorkerCommand(program, action);
  addJobCommand(program, action, () => io.input?.() ?? Readable.from([]));
  addJobResultCommand(program, action);
  addJobStatusCommand(program, action);
  addScheduleCommand(program, action);
  addDeadLetterCommand(program, action);
  addSysInfoCommand(program, action);
  checkRequiredAfterUnknown(program);
  return program;
}

/** Commander's error message on one line, with a hint when a global option was put after the command. */
function usageLine(text: string): string {
  const line = oneLine(text);
  const flag = /unknown option '([^'=]+)/.exec(line)?.[1];
  const globals: readonly string[] = [...GLOBAL_FLAGS, '-a', '-t'];
  if (flag === undefined || !globals.includes(flag)) return line;
  return `${line} (global options go before the command: jobworkerp-client ${flag} ... <command>)`;
}
