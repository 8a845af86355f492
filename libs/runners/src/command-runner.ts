/**
 * The COMMAND runner (built-in runner 1): runs the worker's executable with the job's arguments, without a shell.
 *
 * Semantics (jobworkerp-rs ignores the exit code; we do not):
 * - settings `CommandRunnerSettings.name` is the executable, looked up on PATH unless it contains a `/`;
 * - args `CommandArgs.args` are passed as argv verbatim: no shell, no globbing, no variable expansion;
 * - the child gets only the environment in `options.env` (from Config: PATH, HOME, LANG and COMMAND_ENV_ALLOWLIST),
 *   not the worker's, so the server's secrets stay out of jobs; a job that needs a variable can run `env` with
 *   `NAME=value` arguments before the command; it inherits the working directory; stdin is closed (`ignore`);
 * - exit 0 → one output item: stdout exactly as written (the trailing newline is kept, like upstream);
 * - non-zero exit or death by a signal → `RunnerError('retryable')`, message with the code/signal and the start of
 *   stderr, output `[stderr]`;
 * - stdout or stderr larger than `maxOutputBytes` → the child is killed and the run fails with
 *   `RunnerError('fatal')` (the same command would overflow again), output `[first maxOutputBytes of stdout]`.
 *   We fail rather than truncate because the killed child's exit status says nothing about the work it did.
 *   Only the child itself is killed then; a background grandchild still holding stderr delays the result until it
 *   exits or the job's timeout aborts the run;
 * - a missing or non-executable file, or unusable args → `RunnerError('fatal')`;
 * - `ctx.signal` aborted → the child's whole process group gets SIGKILL at once (a shell script's own children and
 *   a child that ignores SIGTERM included) and run() rejects with `ctx.signal.reason`, unwrapped, so the engine can
 *   tell a timeout from a cancellation. An already aborted signal starts nothing; a child that failed on its own
 *   while the signal aborted is reported as the abort too.
 *
 * The child runs in its own process group (`detached`) so that abort reaches its descendants: otherwise a grandchild
 * holding the stdout pipe keeps the run alive until it exits. The price: execa's exit-time cleanup does not apply
 * to detached children, so a worker that dies without aborting its jobs leaves them running (graceful shutdown
 * aborts every job first). Process groups are POSIX; this runner targets Linux and macOS.
 *
 * Messages never include the environment; they name only the executable, exit status and stderr.
 */
import { execa } from 'execa';
import { CommandArgs, CommandRunnerSettings } from '../../proto/src/index.js';
import { BUILTIN_RUNNERS, COMMAND_RUNNER_ID } from './builtin-runners.js';
import type { RunContext, Runner, RunnerDefinition } from './runner.js';
import { RunnerError } from './runner.js';

/** The most stderr characters quoted in a failure message (the whole bounded stderr is in the output). */
const MAX_MESSAGE_STDERR_CHARS = 2000;

/** Spawn error codes, besides ENOENT, that mean the executable cannot be run at all, whatever the retry. */
const UNRUNNABLE_CODES = new Set(['EACCES', 'ENOTDIR', 'EISDIR', 'ENOEXEC']);

/** The parts of execa's result of a failed run that classify it (the result is a superset). */
interface FailedRun {
  readonly isMaxBuffer: boolean;
  readonly exitCode?: number | undefined;
  readonly signal?: string | undefined;
  /** the spawn error's code (ENOENT, EACCES, ...) when the child did not start */
  readonly code?: string | undefined;
  readonly cause?: unknown;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
}

export interface CommandRunnerOptions {
  /**
   * The most bytes kept of each of stdout and stderr; a child writing more is killed and the run fails (fatal).
   * Comes from COMMAND_MAX_OUTPUT_BYTES in Config.
   */
  readonly maxOutputBytes: number;
  /** The child's whole environment (the worker's own is not passed). Comes from `worker.commandEnv` in Config. */
  readonly env: Readonly<Record<string, string>>;
}

/** Runs one executable per job; see the module comment for the exact semantics. */
export class CommandRunner implements Runner {
  private executable: string | undefined;

  constructor(private readonly options: CommandRunnerOptions) {}

  async load(settings: Uint8Array): Promise<void> {
    const name = decode('CommandRunnerSettings', () => CommandRunnerSettings.decode(settings).name);
    if (name.trim() === '') {
      const message = 'COMMAND runner settings have an empty name; set runner_settings.name to an executable';
      throw new RunnerError(message, 'fatal');
    }
    this.executable = name;
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const file = this.executable;
    if (file === undefined) {
      throw new RunnerError('COMMAND runner was run before load()', 'other');
    }
    const argv = decode('CommandArgs', () => CommandArgs.decode(args).args);
    ctx.signal.throwIfAborted();

    const subprocess = spawn(file, argv, this.options);
    const killGroup = (): void => killProcessGroup(subprocess.pid);
    ctx.signal.addEventListener('abort', killGroup, { once: true });
    try {
      const result = await subprocess;
      if (!result.failed) {
        return [result.stdout];
      }
      if (ctx.signal.aborted) {
        throw ctx.signal.reason;
      }
      throw this.failure(file, result);
    } finally {
      ctx.signal.removeEventListener('abort', killGroup);
    }
  }

  /** Classifies a failed run that we did not abort. */
  private failure(file: string, result: FailedRun): RunnerError {
    if (result.isMaxBuffer) {
      const limit = this.options.maxOutputBytes;
      const message = `command "${file}" output exceeded ${limit} bytes (COMMAND_MAX_OUTPUT_BYTES); it was killed`;
      return new RunnerError(message, 'fatal', [result.stdout]);
    }
    if (result.exitCode !== undefined) {
      const message = withStderr(`command "${file}" exited with code ${result.exitCode}`, result.stderr);
      return new RunnerError(message, 'retryable', [result.stderr]);
    }
    if (result.signal !== undefined) {
      const message = withStderr(`command "${file}" was killed by ${result.signal}`, result.stderr);
      return new RunnerError(message, 'retryable', [result.stderr]);
    }
    return spawnError(file, result.code, result.cause);
  }
}

/** The COMMAND row of the built-in runners, backed by CommandRunner. */
export function commandRunnerDefinition(options: CommandRunnerOptions): RunnerDefinition {
  const row = BUILTIN_RUNNERS.find((runner) => runner.id === COMMAND_RUNNER_ID);
  if (row === undefined) {
    throw new Error('BUILTIN_RUNNERS has no COMMAND row');
  }
  return { ...row, create: () => new CommandRunner(options) };
}

/** Starts the child; execa's synchronous argument errors (e.g. a NUL byte in an argument) become fatal. */
function spawn(file: string, argv: string[], options: CommandRunnerOptions) {
  try {
    return execa(file, argv, {
      shell: false,
      stdin: 'ignore',
      encoding: 'buffer',
      stripFinalNewline: false,
      maxBuffer: options.maxOutputBytes,
      env: options.env,
      extendEnv: false,
      reject: false,
      // Own process group, killed as a whole on abort by run(); execa's cancelSignal would kill only the child.
      detached: true,
      // maxBuffer kills with SIGKILL straight away, so no forceKillAfterDelay grace period is involved.
      killSignal: 'SIGKILL',
    });
  } catch (error) {
    throw new RunnerError(`cannot run command "${file}": ${errorMessage(error)}`, 'fatal', [], { cause: error });
  }
}

/** SIGKILLs the child's process group (the child and everything it started); it may already be gone. */
function killProcessGroup(pid: number | undefined): void {
  if (pid === undefined) {
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group has already exited
  }
}

/** Classifies a failure to start the child (no exit code, no signal). */
function spawnError(file: string, code: string | undefined, cause: unknown): RunnerError {
  const options = { cause };
  if (code === 'ENOENT') {
    const where = file.includes('/') ? '' : ' on PATH';
    const message = `executable "${file}" not found${where}; check the worker's runner_settings.name`;
    return new RunnerError(message, 'fatal', [], options);
  }
  const kind = code !== undefined && UNRUNNABLE_CODES.has(code) ? 'fatal' : 'retryable';
  return new RunnerError(`cannot run command "${file}": ${errorMessage(cause)}`, kind, [], options);
}

/** Decodes protobuf bytes; undecodable bytes are a fatal error (retrying will not change them). */
function decode<T>(message: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new RunnerError(`invalid ${message} bytes: ${errorMessage(error)}`, 'fatal', [], { cause: error });
  }
}

/** Appends the start of stderr (decoded as UTF-8, trimmed) to a failure message. */
function withStderr(message: string, stderr: Uint8Array): string {
  const text = new TextDecoder().decode(stderr).trim();
  if (text === '') {
    return message;
  }
  const quoted = text.length > MAX_MESSAGE_STDERR_CHARS ? `${text.slice(0, MAX_MESSAGE_STDERR_CHARS)}…` : text;
  return `${message}: ${quoted}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
