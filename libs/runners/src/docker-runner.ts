/**
 * The DOCKER runner (built-in runner 4): runs each job in a new container of the Docker Engine at the configured
 * unix socket (DOCKER_SOCKET_PATH), through dockerode.
 *
 * Semantics:
 * - load(): with `from_image` (or `from_src`) in the settings, the image is pulled (imported) once per runner
 *   instance — per job for ordinary workers, once per pool slot for use_static workers — following the pull's
 *   progress stream to its end;
 * - run(): image = args.image, else the settings' image (`from_image`, with `tag` when it has none; or `repo:tag`
 *   of an imported `from_src`); neither → fatal. The container gets Cmd, Entrypoint (args, else settings),
 *   Env (settings then args), WorkingDir (args, else settings), User, ExposedPorts, Shell, NetworkDisabled,
 *   MacAddress, ArgsEscaped; volumes (settings then args) of the form `src:dst[:mode]` become HostConfig.Binds and
 *   a bare path an anonymous volume; DOCKER_GID is added to its groups. Then start, follow its logs (stdout and
 *   stderr demultiplexed, each bounded by RESPONSE_MAX_BYTES), wait for its exit, and remove it (always, forced);
 * - exit 0 → one output item: stdout. Non-zero → RunnerError('retryable') with the code and the start of stderr,
 *   output [stderr]. More output than allowed → the container is killed, RunnerError('fatal'), output [stdout kept];
 * - engine errors: unreachable socket, 5xx, 409 → retryable; 404 (no such image) and 400 → fatal;
 * - `ctx.signal` aborted → the container is killed then removed, and run() rejects with the signal's reason.
 *
 * The create request carries the container's settings in its body only: dockerode would also copy them into the
 * URL's query string (environment values included), where proxies and engine logs would see them.
 * Messages never include the environment.
 */
import Docker from 'dockerode';
import { quote } from '../../core/src/index.js';
import { DockerArgs, DockerRunnerSettings } from '../../proto/src/index.js';
import { builtinRunnerRow } from './builtin-runner-row.js';
import { DOCKER_RUNNER_ID } from './builtin-runners.js';
import { decodeRunnerMessage } from './decode-runner-message.js';
import { ImagePullError, pullImage } from './docker-image-pull.js';
import { readDockerLogs } from './docker-log-reader.js';
import { errorMessage } from './error-message.js';
import type { RunContext, Runner, RunnerDefinition } from './runner.js';
import { RunnerError } from './runner.js';

export interface DockerRunnerOptions {
  /** the Docker Engine API socket (DOCKER_SOCKET_PATH) */
  readonly socketPath: string;
  /** a group id added to every container (DOCKER_GID) */
  readonly groupId: number | undefined;
  /** the most bytes kept of each of stdout and stderr (RESPONSE_MAX_BYTES) */
  readonly maxOutputBytes: number;
  /**
   * How long each request that must complete even when the job is aborted may take: creating the container (an
   * aborted create could leave a container nobody removes), killing and removing it. @default 10000
   */
  readonly controlTimeoutMs?: number;
}

/** The most stderr characters quoted in a failure message (the whole bounded stderr is in the output). */
const MAX_MESSAGE_STDERR_CHARS = 2000;

/** Connection errors: the engine is down, restarting or not where configured; a later try may reach it. */
const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT']);

export class DockerRunner implements Runner {
  private docker: Docker | undefined;
  private settings: DockerRunnerSettings | undefined;
  /** aborts requests still running when the runner is closed (a pull that outlived its job) */
  private readonly closing = new AbortController();

  constructor(private readonly options: DockerRunnerOptions) {}

  async load(settings: Uint8Array): Promise<void> {
    const decoded = decodeRunnerMessage('DockerRunnerSettings', DockerRunnerSettings, settings);
    this.docker = this.connect();
    if (nonEmpty(decoded.fromImage) !== undefined || nonEmpty(decoded.fromSrc) !== undefined) {
      const { fromImage, fromSrc, repo, tag, platform } = decoded;
      const what = fromImage ?? fromSrc ?? '';
      try {
        await pullImage(this.docker, { fromImage, fromSrc, repo, tag, platform }, this.closing.signal);
      } catch (err) {
        throw this.engineFailure(`pulling image ${quote(what)} failed`, err);
      }
    }
    this.settings = decoded;
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const docker = this.docker;
    const settings = this.settings;
    if (docker === undefined || settings === undefined)
      throw new RunnerError('DOCKER runner was run before load()', 'other');
    const decoded = decodeRunnerMessage('DockerArgs', DockerArgs, args);
    const image = nonEmpty(decoded.image) ?? settingsImage(settings);
    if (image === undefined) {
      const message = 'no image to run: set DockerArgs.image, or runner_settings.from_image on the worker';
      throw new RunnerError(message, 'fatal');
    }
    ctx.signal.throwIfAborted();

    const signal = AbortSignal.any([ctx.signal, this.closing.signal]);
    let container: Docker.Container;
    try {
      const body = this.createBody(image, settings, decoded, ctx.jobId);
      // `_body` and `_query` are docker-modem's way to keep the body out of the query string (see the module comment)
      const request = { _query: {}, _body: body, abortSignal: this.controlSignal() };
      container = await docker.createContainer(request as unknown as Docker.ContainerCreateOptions);
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw this.engineFailure(`creating a container of image ${quote(image)} failed`, err, image);
    }
    // aborted meanwhile: runContainer fails at once, and the container is removed

    try {
      return await this.runContainer(container, signal);
    } catch (err) {
      if (ctx.signal.aborted || this.closing.signal.aborted) {
        await this.kill(container);
        throw ctx.signal.aborted ? ctx.signal.reason : err;
      }
      throw err;
    } finally {
      await this.remove(container);
    }
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('the DOCKER runner was closed'));
  }

  /** A client of the configured socket (no request is made yet). */
  private connect(): Docker {
    try {
      return new Docker({
        socketPath: this.options.socketPath,
        // explicit, so that DOCKER_HOST, DOCKER_TLS_VERIFY or DOCKER_CERT_PATH in the environment cannot redirect us
        host: undefined,
        port: undefined,
        protocol: 'http',
        ca: undefined,
        cert: undefined,
        key: undefined,
        timeout: undefined,
      });
    } catch (err) {
      // dockerode parses DOCKER_HOST even when it is not used, and throws when it is malformed
      throw new RunnerError(`cannot set up the Docker client: ${errorMessage(err)}`, 'other', [], { cause: err });
    }
  }

  /** Starts the container, reads its logs and waits for its exit. */
  private async runContainer(container: Docker.Container, signal: AbortSignal): Promise<Uint8Array[]> {
    try {
      await container.start({ abortSignal: signal });
    } catch (err) {
      throw this.engineFailure('starting the container failed', err);
    }
    let logs;
    let exit: { code: number; error: string | undefined };
    try {
      const stream = await container.logs({ follow: true, stdout: true, stderr: true, abortSignal: signal });
      logs = await readDockerLogs(stream as AsyncIterable<Buffer>, this.options.maxOutputBytes);
      if (logs.exceeded) {
        await this.kill(container);
        const limit = this.options.maxOutputBytes;
        const message = `container output exceeded ${limit} bytes (RESPONSE_MAX_BYTES); it was killed`;
        throw new RunnerError(message, 'fatal', [logs.stdout]);
      }
      exit = exitOf(await container.wait({ abortSignal: signal }));
    } catch (err) {
      if (err instanceof RunnerError) throw err;
      throw this.engineFailure('following the container failed', err);
    }
    if (exit.code === 0) return [logs.stdout];
    const reason = exit.error === undefined ? '' : ` (${exit.error})`;
    const message = withStderr(`container exited with code ${exit.code}${reason}`, logs.stderr);
    throw new RunnerError(message, 'retryable', [logs.stderr]);
  }

  private createBody(image: string, settings: DockerRunnerSettings, args: DockerArgs, jobId: number): object {
    const volumes = [...settings.volumes, ...args.volumes];
    const binds = volumes.filter((volume) => volume.includes(':'));
    const anonymous = volumes.filter((volume) => !volume.includes(':'));
    const entrypoint = args.entrypoint.length > 0 ? args.entrypoint : settings.entrypoint;
    return {
      Image: image,
      Cmd: args.cmd.length > 0 ? args.cmd : undefined,
      Entrypoint: entrypoint.length > 0 ? entrypoint : undefined,
      Env: [...settings.env, ...args.env],
      WorkingDir: nonEmpty(args.workingDir) ?? nonEmpty(settings.workingDir),
      User: nonEmpty(args.user),
      ExposedPorts:
        args.exposedPorts.length > 0 ? Object.fromEntries(args.exposedPorts.map((port) => [port, {}])) : undefined,
      Volumes: anonymous.length > 0 ? Object.fromEntries(anonymous.map((path) => [path, {}])) : undefined,
      Shell: args.shell.length > 0 ? args.shell : undefined,
      ArgsEscaped: args.argsEscaped,
      NetworkDisabled: args.networkDisabled,
      MacAddress: nonEmpty(args.macAddress),
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Labels: { 'jobworkerp.job-id': String(jobId) },
      HostConfig: {
        Binds: binds.length > 0 ? binds : undefined,
        GroupAdd: this.options.groupId === undefined ? undefined : [String(this.options.groupId)],
      },
    };
  }

  /** Kills a container that may have exited already; failures are left to the forced removal that follows. */
  private async kill(container: Docker.Container): Promise<void> {
    await container.kill({ abortSignal: this.controlSignal() }).catch(() => undefined);
  }

  /**
   * Removes the container (forced: it may still run). A failure is not the job's: the container carries the label
   * `jobworkerp.job-id`, by which leftovers can be found and pruned.
   */
  private async remove(container: Docker.Container): Promise<void> {
    await container.remove({ force: true, abortSignal: this.controlSignal() }).catch(() => undefined);
  }

  private controlSignal(): AbortSignal {
    return AbortSignal.timeout(this.options.controlTimeoutMs ?? 10_000);
  }

  /** Classifies an error of the engine API (or of reaching it). */
  private engineFailure(action: string, err: unknown, image?: string): RunnerError {
    const options = { cause: err };
    if (err instanceof RunnerError) return err;
    if (err instanceof ImagePullError) return new RunnerError(`${action}: ${err.message}`, 'retryable', [], options);
    const { statusCode, code } = (typeof err === 'object' && err !== null ? err : {}) as {
      statusCode?: unknown;
      code?: unknown;
    };
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
      const message = `${action}: cannot reach the Docker engine at ${this.options.socketPath} (${code}); check DOCKER_SOCKET_PATH`;
      return new RunnerError(message, 'retryable', [], options);
    }
    const detail = engineMessage(err);
    if (statusCode === 404 && image !== undefined) {
      const message = `${action}: ${detail}; pull it first with the worker's runner_settings.from_image`;
      return new RunnerError(message, 'fatal', [], options);
    }
    const fatal = statusCode === 404 || statusCode === 400;
    return new RunnerError(`${action}: ${detail}`, fatal ? 'fatal' : 'retryable', [], options);
  }
}

/** The DOCKER row of the built-in runners, backed by DockerRunner. */
export function dockerRunnerDefinition(options: DockerRunnerOptions): RunnerDefinition {
  return { ...builtinRunnerRow(DOCKER_RUNNER_ID), create: () => new DockerRunner(options) };
}

/** The image the settings name: `from_image` (with `tag` when it has none), or `repo[:tag]` of an import. */
function settingsImage(settings: DockerRunnerSettings): string | undefined {
  const tag = nonEmpty(settings.tag);
  const base =
    nonEmpty(settings.fromImage) ?? (nonEmpty(settings.fromSrc) === undefined ? undefined : nonEmpty(settings.repo));
  if (base === undefined) return undefined;
  return tag === undefined || hasTagOrDigest(base) ? base : `${base}:${tag}`;
}

/** True when an image reference names a tag or digest (`name:tag`, `name@sha256:...`), not just a registry port. */
function hasTagOrDigest(reference: string): boolean {
  const lastSegment = reference.slice(reference.lastIndexOf('/') + 1);
  return lastSegment.includes(':') || lastSegment.includes('@');
}

/** The exit code (and the engine's error, if any) from a wait response. */
function exitOf(response: unknown): { code: number; error: string | undefined } {
  const { StatusCode, Error: error } = (response ?? {}) as {
    StatusCode?: unknown;
    Error?: { Message?: unknown } | null;
  };
  if (typeof StatusCode !== 'number') {
    throw new RunnerError('the Docker engine answered the container wait without an exit code', 'retryable');
  }
  const message = typeof error?.Message === 'string' && error.Message !== '' ? error.Message : undefined;
  return { code: StatusCode, error: message };
}

/**
 * The engine's own message from a dockerode error: its JSON body's message, else the error's message without the
 * "(HTTP code 404) unexpected - " prefix dockerode puts before the engine's words.
 */
function engineMessage(err: unknown): string {
  const json = typeof err === 'object' && err !== null ? (err as { json?: unknown }).json : undefined;
  if (json !== null && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message;
  }
  return errorMessage(err)
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .trim();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Appends the start of stderr (decoded as UTF-8, trimmed) to a failure message. */
function withStderr(message: string, stderr: Uint8Array): string {
  const text = new TextDecoder().decode(stderr).trim();
  if (text === '') return message;
  const quoted = text.length > MAX_MESSAGE_STDERR_CHARS ? `${text.slice(0, MAX_MESSAGE_STDERR_CHARS)}…` : text;
  return `${message}: ${quoted}`;
}
