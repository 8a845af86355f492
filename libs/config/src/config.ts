/**
 * The one reader of process.env and .env: parses them into a typed, validated, immutable {@link Config}.
 * Every other module receives the Config (or the part it needs) from an app's main.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseEnv } from 'node:util';

export type StorageMode = 'Standalone' | 'Scalable';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The channel jobs go to when their worker names none. */
export const DEFAULT_CHANNEL = '__default_job_channel__';

export interface ChannelConfig {
  readonly name: string;
  /** jobs of this channel run at once in one worker process */
  readonly concurrency: number;
}

export interface Config {
  /** STORAGE_TYPE. @default 'Standalone' */
  readonly storageType: StorageMode;
  /** STORAGE_RESTORE_AT_STARTUP (alias STORAGE_REFLESH_FROM_RDB). @default false */
  readonly restoreAtStartup: boolean;
  readonly grpc: {
    /** GRPC_ADDR host part. @default '0.0.0.0' */
    readonly host: string;
    /** GRPC_ADDR port part; 0 picks a free port. @default 9000 */
    readonly port: number;
    /**
     * USE_GRPC_WEB: also serve every service as gRPC-Web (binary and text) and as JSON (the Connect protocol) on the
     * HTTP/1.1 listener of HTTP_ADDR, which it needs (grpc-js owns the HTTP/2 port of GRPC_ADDR, so gRPC-Web cannot
     * share it). @default false
     */
    readonly useGrpcWeb: boolean;
    /**
     * AUTH_TOKEN: when set, every call needs metadata `jobworkerp-auth: <token>` (surrounding spaces are trimmed; a
     * value of only spaces is a configuration error, not "no token").
     */
    readonly authToken: string | undefined;
    /** GRPC_MAX_MESSAGE_BYTES: the largest request or response message. @default 64 MiB */
    readonly maxMessageBytes: number;
    /** GRPC_KEEPALIVE_TIME_MS: the server pings each connection this often; 0 = never. @default 60000 */
    readonly keepaliveTimeMs: number;
    /** GRPC_KEEPALIVE_TIMEOUT_MS: a connection that does not answer a ping within this long is closed. @default 20000 */
    readonly keepaliveTimeoutMs: number;
    /** GRPC_MAX_CONNECTION_IDLE_MS: a connection without a call for this long is closed; 0 = never. @default 300000 */
    readonly maxConnectionIdleMs: number;
    /**
     * GRPC_MAX_CONNECTION_AGE_MS: a connection this old is asked to go away (clients reconnect for new calls; calls
     * in flight go on); 0 = never. With keepalive pings on, grpc-js closes such a connection at its next ping, which
     * cuts long calls (Listen, DIRECT): hence off by default. @default 0
     */
    readonly maxConnectionAgeMs: number;
    /**
     * GRPC_MAX_CONNECTION_AGE_GRACE_MS: how long calls in flight may go on on a connection asked to go away for its
     * age, before it is closed; 0 = as long as they last. @default 0
     */
    readonly maxConnectionAgeGraceMs: number;
    /** GRPC_MAX_CONCURRENT_STREAMS: calls in flight per connection; more wait in the client. @default 1000 */
    readonly maxConcurrentStreams: number;
    /** GRPC_MAX_CONNECTIONS: open connections to the port; more are closed at once. @default 1000 */
    readonly maxConnections: number;
  };
  /** The HTTP surfaces of a front, beside its gRPC port. */
  readonly http: {
    /**
     * HTTP_ADDR host:port: the HTTP/1.1 listener where, with USE_GRPC_WEB=true, every service is also served as
     * gRPC-Web and as JSON. Port 0 picks a free port. @default off
     */
    readonly addr: { readonly host: string; readonly port: number } | undefined;
    /** HTTP_CORS_ORIGINS: comma list of origins browsers may call the HTTP surfaces from; `*` allows any. @default none */
    readonly corsOrigins: readonly string[];
    /** HTTP_MAX_BODY_BYTES: the largest request body any HTTP surface reads. @default 4 MiB */
    readonly maxBodyBytes: number;
  };
  /**
   * TLS of the gRPC port and of every HTTP listener: GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (PEM files, both or
   * neither), and GRPC_TLS_CLIENT_CA_FILE to require client certificates signed by that CA (mutual TLS).
   * @default off (plain text)
   */
  readonly tls: TlsFiles | undefined;
  readonly worker: {
    /** WORKER_DEFAULT_CONCURRENCY: concurrency of the default channel. @default number of CPUs */
    readonly defaultConcurrency: number;
    /** WORKER_CHANNELS + WORKER_CHANNEL_CONCURRENCIES, plus the default channel (always first). */
    readonly channels: readonly ChannelConfig[];
    /** SHUTDOWN_GRACE_PERIOD_MS: how long running jobs may finish after SIGTERM. @default 10000 */
    readonly shutdownGraceMs: number;
    /** COMMAND_MAX_OUTPUT_BYTES: stdout/stderr kept per COMMAND job. @default 1 MiB */
    readonly commandMaxOutputBytes: number;
    /**
     * The whole environment of COMMAND children: PATH, HOME and LANG of this process, plus the variables named in
     * COMMAND_ENV_ALLOWLIST (comma list; `NAME*` takes every variable starting with NAME). Nothing else is passed,
     * so AUTH_TOKEN, MYSQL_PASSWORD and the like stay out of jobs. @default PATH, HOME, LANG
     */
    readonly commandEnv: Readonly<Record<string, string>>;
    /** RESPONSE_MAX_BYTES: response body kept per HTTP/gRPC/Docker job. @default 8 MiB */
    readonly responseMaxBytes: number;
  };
  readonly queue: {
    /** JOB_QUEUE_EXPIRE_JOB_RESULT_SECONDS, in ms. @default 86400 s */
    readonly expireJobResultMs: number;
    /** JOB_QUEUE_FETCH_INTERVAL: how often (and how far ahead) the RDB is polled for due jobs, ms. @default 1000 */
    readonly fetchIntervalMs: number;
    /** JOB_QUEUE_MAX_PENDING: jobs waiting per channel before Enqueue answers UNAVAILABLE. @default 100000 */
    readonly maxPendingPerChannel: number;
    /**
     * JOB_QUEUE_MAX_PENDING_TOTAL: jobs in the whole queue (every channel, waiting or running) before Enqueue answers
     * UNAVAILABLE; per process in Standalone, per Redis queue in Scalable. @default twice JOB_QUEUE_MAX_PENDING
     */
    readonly maxPendingTotal: number;
    /** JOB_LEASE_MS: how long a claimed job is held before another worker may take it. @default 30000 */
    readonly leaseMs: number;
    /**
     * RETRY_JITTER: a fraction from 0 to 1; each retry delay is drawn at random from delay × (1 ± jitter), so retries
     * of jobs that failed together spread out. 0 keeps the exact delays of the retry policies. @default 0
     */
    readonly retryJitter: number;
  };
  /** Dead letters: jobs kept after a final failure (MAX_RETRY, FATAL_ERROR; see libs/jobs/src/dead-letters.ts). */
  readonly deadLetters: {
    /**
     * DEAD_LETTER_ENABLED: whether workers without dead-letter options of their own keep dead letters (a worker's own
     * options, set through jobworkerp.ext.DeadLetterService, win). @default true
     */
    readonly enabled: boolean;
    /** DEAD_LETTER_RETENTION_SECONDS, in ms: dead letters older than this are deleted. @default 2592000 s (30 days) */
    readonly retentionMs: number;
    /** DEAD_LETTER_MAX_COUNT: at most this many dead letters are kept; the oldest go first. @default 100000 */
    readonly maxCount: number;
  };
  /** The live-process list of the system status (every process records a heartbeat; see SystemService). */
  readonly processes: {
    /** HEARTBEAT_INTERVAL_MS: how often a process records that it is alive. @default 5000 */
    readonly heartbeatIntervalMs: number;
    /**
     * HEARTBEAT_TIMEOUT_MS: a process whose last heartbeat is older than this is left out of the list (it died or
     * lost Redis); more than the interval. @default three intervals
     */
    readonly heartbeatTimeoutMs: number;
  };
  readonly storage: {
    /** SQLITE_URL (sqlite://path or a path). @default ./data/jobworkerp.sqlite3 */
    readonly sqlitePath: string;
    /** DATABASE_URL, or built from MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD, MYSQL_DBNAME. */
    readonly mysql: MysqlConfig;
    /**
     * SECRETS_KEY (32 bytes as 64 hex digits or base64), here as 64 hex digits: when set, workers' runner settings
     * are stored encrypted (AES-256-GCM). Rows stored before stay readable.
     */
    readonly secretsKeyHex: string | undefined;
    /**
     * SECRETS_KEY_PREVIOUS (comma list, same forms), as hex: keys used before; settings sealed under them are still
     * read, and sealed under SECRETS_KEY when next written. @default []
     */
    readonly previousSecretsKeysHex: readonly string[];
  };
  readonly redis: {
    /** REDIS_URL. @default redis://127.0.0.1:6379 */
    readonly url: string;
    /** REDIS_USERNAME */
    readonly username: string | undefined;
    /** REDIS_PASSWORD */
    readonly password: string | undefined;
    /** REDIS_CLUSTER: treat REDIS_URL (comma list of nodes) as a Redis Cluster. @default false */
    readonly cluster: boolean;
    /** REDIS_KEY_PREFIX: namespace for every key. @default 'jw' */
    readonly keyPrefix: string;
  };
  readonly runners: {
    /** PLUGINS_RUNNER_DIR: comma list of folders with plugin modules. @default [] */
    readonly pluginDirs: readonly string[];
    /**
     * PLUGIN_THREADS: worker threads per plugin in a process; each runs many of the plugin's jobs at once.
     * @default os.availableParallelism()
     */
    readonly pluginThreads: number;
    /** DOCKER_GID: group id added to containers. */
    readonly dockerGid: number | undefined;
    /** DOCKER_SOCKET_PATH. @default /var/run/docker.sock */
    readonly dockerSocketPath: string;
    /** SLACK_API_BASE_URL. @default https://slack.com/api */
    readonly slackApiBaseUrl: string;
  };
  /** The poussetaches HTTP push API (docs/poussetaches-api.md), served by fronts when POUSSETACHES_HTTP_ADDR is set. */
  readonly poussetaches: {
    /** POUSSETACHES_HTTP_ADDR host:port: where the API listens; port 0 picks a free port. @default off */
    readonly addr: { readonly host: string; readonly port: number } | undefined;
    /**
     * POUSSETACHES_AUTH_KEY: the shared key sent to receivers in the `Poussetaches-Auth-Key` header of every
     * delivery (a secret: it is stored in the push worker's settings, sealed when SECRETS_KEY is set, and never
     * logged). @default none (no header is sent)
     */
    readonly authKey: string | undefined;
    /** POUSSETACHES_WORKER: the HTTP_REQUEST worker that delivers pushes, created at start. @default 'poussetaches' */
    readonly workerName: string;
    /**
     * POUSSETACHES_CHANNEL: the channel of the push worker; list it in WORKER_CHANNELS of the processes that run jobs.
     * While deliveries are paused, the waiting pushes hold run slots of this channel only. @default the default channel
     */
    readonly channel: string | undefined;
    /** POUSSETACHES_MAX_TRIES: attempts of a delivery before it is dead (poussetaches made 11). @default 11 */
    readonly maxTries: number;
    /**
     * POUSSETACHES_RETRY_BASE_MS: the delay before the first retry; each next one is 4 times longer (1 s, 4 s,
     * 16 s... like poussetaches). @default 1000
     */
    readonly retryBaseMs: number;
    /** POUSSETACHES_REQUEST_TIMEOUT_MS: the longest one delivery may take. @default 30000 */
    readonly requestTimeoutMs: number;
    /** POUSSETACHES_LIST_LIMIT: the most tasks `GET /waiting|/success|/dead|/cron` answer. @default 1000 */
    readonly listLimit: number;
  };
  readonly health: {
    /**
     * HEALTH_ADDR host:port: where a process answers HTTP health probes (`GET /healthz`, `GET /livez`); a worker has
     * no gRPC port, so this is how its probes reach it. Port 0 picks a free port. @default off
     */
    readonly addr: { readonly host: string; readonly port: number } | undefined;
    /**
     * HEALTH_CHECK_INTERVAL_MS: how often the process checks that Redis and the RDB answer (a lost Redis connection
     * is noticed at once, without waiting for the next check). @default 5000
     */
    readonly checkIntervalMs: number;
  };
  /** The poulpe-compatible HTTP API (docs/poulpe-api.md); undefined unless POULPE_HTTP_ADDR is set. */
  readonly poulpe: PoulpeConfig | undefined;
  readonly schedules: {
    /**
     * CRON_FILE: a file of cron schedules, one a line (`sec min hour day month weekday year  worker-name  args-json`),
     * loaded at start and kept in sync with the RDB while the process runs (docs/schedules.md).
     */
    readonly cronFile: string | undefined;
  };
  readonly telemetry: {
    /**
     * OTLP_ADDR: the base URL of an OpenTelemetry collector's OTLP/HTTP receiver (`http://collector:4318`); spans are
     * posted to `<OTLP_ADDR>/v1/traces` (as given when the path already ends with `/v1/traces`). Kept without a
     * trailing slash. @default off: no tracing, and no tracing code loaded
     */
    readonly otlpAddr: string | undefined;
    /**
     * OTEL_SERVICE_NAME: the `service.name` of this process's spans. @default the app's name with a `jobworkerp-`
     * prefix (jobworkerp-all-in-one, jobworkerp-grpc-front, jobworkerp-worker)
     */
    readonly serviceName: string | undefined;
    /**
     * METRICS_ADDR host:port: where a process serves Prometheus metrics over plain HTTP (`GET /metrics`). Port 0
     * picks a free port. @default off
     */
    readonly metricsAddr: { readonly host: string; readonly port: number } | undefined;
  };
  readonly log: {
    /** LOG_LEVEL. @default 'info' */
    readonly level: LogLevel;
    /** LOG_FILE_DIR: when set, logs also go to a file in this folder. */
    readonly fileDir: string | undefined;
    /** LOG_USE_JSON. @default true */
    readonly json: boolean;
    /** LOG_USE_STDOUT. @default true */
    readonly stdout: boolean;
  };
}

/** The poulpe-compatible HTTP API of a front: POST /task_in_queue, GET /task_resp/<id>, GET /sys_info. */
export interface PoulpeConfig {
  /** POULPE_HTTP_ADDR host:port: where the API listens (port 0 picks a free port); setting it turns the API on. */
  readonly addr: { readonly host: string; readonly port: number };
  /**
   * POULPE_HTTP_ORIGINS: comma list of origins (`scheme://host[:port]`) that GET and POST tasks may call; a task URL
   * of another origin is refused (403). @default none (GET and POST refused)
   */
  readonly httpOrigins: readonly string[];
  /**
   * POULPE_EXEC_ALLOWLIST: comma list of the executables EXEC tasks may run, exactly as tasks name them (a name
   * looked up on PATH, or a path). @default none (EXEC refused)
   */
  readonly execAllowlist: readonly string[];
  /** The SMTP server of MAIL_TO tasks: POULPE_SMTP_*; undefined (MAIL_TO refused) unless POULPE_SMTP_HOST is set. */
  readonly smtp: PoulpeSmtpConfig | undefined;
  /** POULPE_MAIL_FROM: the sender of MAIL_TO tasks that give no from_addr, and an allowed from_addr. */
  readonly mailFrom: string | undefined;
  /** POULPE_MAIL_FROM_ALLOWLIST: comma list of other from_addr values MAIL_TO tasks may use. @default none */
  readonly mailFromAllowlist: readonly string[];
  /** POULPE_WORKER_PREFIX: the start of the names of the workers the API creates. @default 'poulpe' */
  readonly workerPrefix: string;
  /** POULPE_CHANNEL: the channel of the API's workers. @default the default channel */
  readonly channel: string | undefined;
  /**
   * POULPE_CC_CHANNEL: the channel of tasks with a non-empty `cc` (they go to twin workers named `<name>:cc`).
   * @default unset: `cc` is checked, then tasks run on POULPE_CHANNEL like the others
   */
  readonly ccChannel: string | undefined;
  /** POULPE_MAX_RETRY: retries after a failed run (3 = up to 4 runs, like poulpe). @default 3 */
  readonly maxRetry: number;
  /** POULPE_RETRY_INTERVAL_MS: the wait before each retry. @default 10000 */
  readonly retryIntervalMs: number;
  /** POULPE_TASK_TIMEOUT_MS: how long one run of a task may take; 0 = no limit. @default 300000 */
  readonly taskTimeoutMs: number;
  /** POULPE_MAX_WAIT_SECONDS: the longest `wait` and task_resp `timeout` accepted, in seconds. @default 3600 */
  readonly maxWaitSeconds: number;
}

export interface PoulpeSmtpConfig {
  /** POULPE_SMTP_HOST */
  readonly host: string;
  /** POULPE_SMTP_PORT; 0 = 465 with POULPE_SMTP_SECURE, else 587. @default 0 */
  readonly port: number;
  /** POULPE_SMTP_USERNAME */
  readonly username: string | undefined;
  /** POULPE_SMTP_PASSWORD (never logged) */
  readonly password: string | undefined;
  /** POULPE_SMTP_SECURE: implicit TLS (port 465 style). @default false */
  readonly secure: boolean;
  /** POULPE_SMTP_STARTTLS: require STARTTLS. @default false */
  readonly starttls: boolean;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | undefined;
}

export interface MysqlConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string;
}

/** Thrown when the environment is invalid; its message lists every problem, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** the environment; process.env when omitted */
  env?: Readonly<Record<string, string | undefined>>;
  /** a dotenv file read under the environment (the environment wins); '.env' when omitted, false to skip */
  envFile?: string | false;
}

/** The longest delay a Node timer takes (about 24.8 days): the bound of settings that arm plain timers. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest dead-letter retention: its milliseconds must stay an exact integer below 2^53 (about 285 years). */
const MAX_RETENTION_SECONDS = 9_000_000_000;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the environment (and .env) once into an immutable Config, or throws a ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const fileVars = options.envFile === false ? {} : readEnvFile(options.envFile ?? '.env');
  const env: Record<string, string | undefined> = { ...fileVars, ...(options.env ?? process.env) };
  const r = new Reader(env);

  const storageType = r.oneOf('STORAGE_TYPE', ['Standalone', 'Scalable'] as const, 'Standalone', true);
  const restoreAtStartup =
    env['STORAGE_RESTORE_AT_STARTUP'] !== undefined
      ? r.bool('STORAGE_RESTORE_AT_STARTUP', false)
      : r.bool('STORAGE_REFLESH_FROM_RDB', false);

  const [host, port] = r.hostPort('GRPC_ADDR', '0.0.0.0:9000');
  const defaultConcurrency = r.int('WORKER_DEFAULT_CONCURRENCY', availableParallelism(), 1);
  const channels = r.channels(defaultConcurrency);

  const config: Config = {
    storageType,
    restoreAtStartup,
    grpc: {
      host,
      port,
      useGrpcWeb: r.bool('USE_GRPC_WEB', false),
      authToken: r.authToken(),
      maxMessageBytes: r.int('GRPC_MAX_MESSAGE_BYTES', 64 * 1024 * 1024, 1024),
      keepaliveTimeMs: r.int('GRPC_KEEPALIVE_TIME_MS', 60_000, 0, MAX_TIMER_MS),
      keepaliveTimeoutMs: r.int('GRPC_KEEPALIVE_TIMEOUT_MS', 20_000, 1, MAX_TIMER_MS),
      maxConnectionIdleMs: r.int('GRPC_MAX_CONNECTION_IDLE_MS', 300_000, 0, MAX_TIMER_MS),
      maxConnectionAgeMs: r.int('GRPC_MAX_CONNECTION_AGE_MS', 0, 0, MAX_TIMER_MS),
      maxConnectionAgeGraceMs: r.int('GRPC_MAX_CONNECTION_AGE_GRACE_MS', 0, 0, MAX_TIMER_MS),
      maxConcurrentStreams: r.int('GRPC_MAX_CONCURRENT_STREAMS', 1000, 1, 2 ** 31 - 1),
      maxConnections: r.int('GRPC_MAX_CONNECTIONS', 1000, 1),
    },
    http: {
      addr: r.optionalHostPort('HTTP_ADDR'),
      corsOrigins: r.list('HTTP_CORS_ORIGINS'),
      maxBodyBytes: r.int('HTTP_MAX_BODY_BYTES', 4 * 1024 * 1024, 1024),
    },
    tls: r.tls(),
    worker: {
      defaultConcurrency,
      channels,
      shutdownGraceMs: r.int('SHUTDOWN_GRACE_PERIOD_MS', 10_000, 0, MAX_TIMER_MS),
      commandMaxOutputBytes: r.int('COMMAND_MAX_OUTPUT_BYTES', 1024 * 1024, 1),
      commandEnv: commandEnv(env, r.list('COMMAND_ENV_ALLOWLIST')),
      responseMaxBytes: r.int('RESPONSE_MAX_BYTES', 8 * 1024 * 1024, 1),
    },
    queue: {
      ...pendingCaps(r),
      expireJobResultMs: r.int('JOB_QUEUE_EXPIRE_JOB_RESULT_SECONDS', 86_400, 1) * 1000,
      fetchIntervalMs: r.int('JOB_QUEUE_FETCH_INTERVAL', 1000, 10, MAX_TIMER_MS),
      leaseMs: r.int('JOB_LEASE_MS', 30_000, 1000, MAX_TIMER_MS),
      retryJitter: r.fraction('RETRY_JITTER', 0),
    },
    deadLetters: {
      enabled: r.bool('DEAD_LETTER_ENABLED', true),
      retentionMs: r.int('DEAD_LETTER_RETENTION_SECONDS', 2_592_000, 1, MAX_RETENTION_SECONDS) * 1000,
      maxCount: r.int('DEAD_LETTER_MAX_COUNT', 100_000, 1),
    },
    processes: heartbeats(r),
    storage: {
      sqlitePath: r.sqlitePath(),
      mysql: r.mysql(),
      secretsKeyHex: r.secretsKey('SECRETS_KEY', r.optional('SECRETS_KEY')),
      previousSecretsKeysHex: r
        .list('SECRETS_KEY_PREVIOUS')
        .flatMap((key) => r.secretsKey('SECRETS_KEY_PREVIOUS', key) ?? []),
    },
    redis: {
      url: r.string('REDIS_URL', 'redis://127.0.0.1:6379'),
      username: r.optional('REDIS_USERNAME'),
      password: r.optional('REDIS_PASSWORD'),
      cluster: r.bool('REDIS_CLUSTER', false),
      keyPrefix: r.string('REDIS_KEY_PREFIX', 'jw'),
    },
    runners: {
      pluginDirs: r.list('PLUGINS_RUNNER_DIR'),
      pluginThreads: r.int('PLUGIN_THREADS', availableParallelism(), 1),
      dockerGid: r.optionalInt('DOCKER_GID'),
      dockerSocketPath: r.string('DOCKER_SOCKET_PATH', '/var/run/docker.sock'),
      slackApiBaseUrl: r.string('SLACK_API_BASE_URL', 'https://slack.com/api').replace(/\/+$/, ''),
    },
    poussetaches: {
      addr: r.optionalHostPort('POUSSETACHES_HTTP_ADDR'),
      authKey: r.optional('POUSSETACHES_AUTH_KEY'),
      workerName: r.string('POUSSETACHES_WORKER', 'poussetaches'),
      channel: r.optional('POUSSETACHES_CHANNEL'),
      maxTries: r.int('POUSSETACHES_MAX_TRIES', 11, 1, 100),
      retryBaseMs: r.int('POUSSETACHES_RETRY_BASE_MS', 1000, 1, MAX_TIMER_MS),
      requestTimeoutMs: r.int('POUSSETACHES_REQUEST_TIMEOUT_MS', 30_000, 1, MAX_TIMER_MS),
      listLimit: r.int('POUSSETACHES_LIST_LIMIT', 1000, 1, 100_000),
    },
    health: {
      addr: r.optionalHostPort('HEALTH_ADDR'),
      checkIntervalMs: r.int('HEALTH_CHECK_INTERVAL_MS', 5000, 100, MAX_TIMER_MS),
    },
    poulpe: poulpeConfig(r),
    schedules: {
      cronFile: r.optional('CRON_FILE'),
    },
    telemetry: {
      otlpAddr: r.otlpAddr(),
      serviceName: r.serviceName(),
      metricsAddr: r.optionalHostPort('METRICS_ADDR'),
    },
    log: {
      level: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info', false),
      fileDir: r.optional('LOG_FILE_DIR'),
      json: r.bool('LOG_USE_JSON', true),
      stdout: r.bool('LOG_USE_STDOUT', true),
    },
  };
  if (config.grpc.useGrpcWeb && config.http.addr === undefined) {
    r.problems.push(
      'USE_GRPC_WEB=true needs HTTP_ADDR (host:port of the HTTP/1.1 listener that serves gRPC-Web and JSON; ' +
        'the gRPC port of GRPC_ADDR speaks HTTP/2 gRPC only); set HTTP_ADDR or USE_GRPC_WEB=false',
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

/** Variables every COMMAND child gets (when this process has them). */
const COMMAND_ENV_ALWAYS = ['PATH', 'HOME', 'LANG'];

function commandEnv(env: Record<string, string | undefined>, allowlist: readonly string[]): Record<string, string> {
  const patterns = [...COMMAND_ENV_ALWAYS, ...allowlist];
  const allowed = (name: string): boolean =>
    patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && allowed(name)) out[name] = value;
  }
  return out;
}

/** The backlog caps: per channel, and in total (twice the per-channel cap unless set). */
function pendingCaps(r: Reader): { maxPendingPerChannel: number; maxPendingTotal: number } {
  const maxPendingPerChannel = r.int('JOB_QUEUE_MAX_PENDING', 100_000, 1);
  return { maxPendingPerChannel, maxPendingTotal: r.int('JOB_QUEUE_MAX_PENDING_TOTAL', 2 * maxPendingPerChannel, 1) };
}

function heartbeats(r: Reader): { heartbeatIntervalMs: number; heartbeatTimeoutMs: number } {
  const heartbeatIntervalMs = r.int('HEARTBEAT_INTERVAL_MS', 5000, 100, MAX_TIMER_MS);
  return {
    heartbeatIntervalMs,
    heartbeatTimeoutMs: r.int('HEARTBEAT_TIMEOUT_MS', 3 * heartbeatIntervalMs, heartbeatIntervalMs + 1, MAX_TIMER_MS),
  };
}

/** POULPE_*: read only when POULPE_HTTP_ADDR turns the API on. */
function poulpeConfig(r: Reader): PoulpeConfig | undefined {
  const addr = r.optionalHostPort('POULPE_HTTP_ADDR');
  if (addr === undefined) return undefined;
  const httpOrigins = r.list('POULPE_HTTP_ORIGINS').flatMap((raw) => {
    const origin = originOf(raw);
    if (origin === undefined) {
      // a value with credentials in it is not echoed
      const shown = raw.includes('@') ? 'a value with user@ in it' : JSON.stringify(raw);
      r.problems.push(
        `POULPE_HTTP_ORIGINS: ${shown} is not an origin; use scheme://host[:port], e.g. https://api.example.com`,
      );
      return [];
    }
    return [origin];
  });
  const smtpHost = r.optional('POULPE_SMTP_HOST');
  const smtp: PoulpeSmtpConfig | undefined =
    smtpHost === undefined
      ? undefined
      : {
          host: smtpHost,
          port: r.int('POULPE_SMTP_PORT', 0, 0, 65535),
          username: r.optional('POULPE_SMTP_USERNAME'),
          password: r.optional('POULPE_SMTP_PASSWORD'),
          secure: r.bool('POULPE_SMTP_SECURE', false),
          starttls: r.bool('POULPE_SMTP_STARTTLS', false),
        };
  const mailFrom = r.optional('POULPE_MAIL_FROM');
  const mailFromAllowlist = r.list('POULPE_MAIL_FROM_ALLOWLIST');
  for (const [name, values] of [
    ['POULPE_MAIL_FROM', mailFrom === undefined ? [] : [mailFrom]],
    ['POULPE_MAIL_FROM_ALLOWLIST', mailFromAllowlist],
  ] as const) {
    for (const v of values) {
      if (!/^[^\s@]+@[^\s@]+$/.test(v)) r.problems.push(`${name}: ${JSON.stringify(v)} is not a mail address`);
    }
  }
  const workerPrefix = r.string('POULPE_WORKER_PREFIX', 'poulpe');
  if (workerPrefix.length > 64) r.problems.push('POULPE_WORKER_PREFIX must be at most 64 characters');
  return {
    addr,
    httpOrigins,
    execAllowlist: r.list('POULPE_EXEC_ALLOWLIST'),
    smtp,
    mailFrom,
    mailFromAllowlist,
    workerPrefix,
    channel: r.optional('POULPE_CHANNEL'),
    ccChannel: r.optional('POULPE_CC_CHANNEL'),
    maxRetry: r.int('POULPE_MAX_RETRY', 3, 0, 1000),
    retryIntervalMs: r.int('POULPE_RETRY_INTERVAL_MS', 10_000, 0, MAX_TIMER_MS),
    taskTimeoutMs: r.int('POULPE_TASK_TIMEOUT_MS', 300_000, 0, MAX_TIMER_MS),
    maxWaitSeconds: r.int('POULPE_MAX_WAIT_SECONDS', 3600, 1, Math.floor(MAX_TIMER_MS / 1000)),
  };
}

/** `scheme://host[:port]` (http or https, nothing after but a `/`) as a URL origin; undefined for anything else. */
function originOf(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const bare =
    url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  return (url.protocol === 'http:' || url.protocol === 'https:') && bare && !raw.includes('?') ? url.origin : undefined;
}

function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Collects every problem instead of stopping at the first, so one start shows them all. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly env: Record<string, string | undefined>) {}

  optional(name: string): string | undefined {
    const v = this.env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  list(name: string): string[] {
    const v = this.optional(name);
    return v === undefined
      ? []
      : v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.optional(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    this.problems.push(`${name}=${this.env[name]} is not a boolean; use true or false`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    return this.parseInt(name, v, min, max) ?? fallback;
  }

  /** A number from 0 to 1 (e.g. 0.3). */
  fraction(name: string, fallback: number): number {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^\d*\.?\d+$/.test(v) || !Number.isFinite(n) || n < 0 || n > 1) {
      this.problems.push(`${name}=${v} must be a fraction from 0 to 1, e.g. 0.3`);
      return fallback;
    }
    return n;
  }

  /** A key of `name` (32 bytes as hex or base64) as 64 hex digits; the key itself is never echoed in a problem. */
  secretsKey(name: string, v: string | undefined): string | undefined {
    if (v === undefined) return undefined;
    if (/^[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
    if (/^[A-Za-z0-9+/]{43}=?$/.test(v)) return Buffer.from(v, 'base64').toString('hex');
    this.problems.push(`${name} must be 32 random bytes as 64 hex digits or as base64 (openssl rand -base64 32)`);
    return undefined;
  }

  /** AUTH_TOKEN: unset or empty = no auth; only spaces is refused (it would silently turn auth off). */
  authToken(): string | undefined {
    const raw = this.env['AUTH_TOKEN'];
    if (raw !== undefined && raw !== '' && raw.trim() === '') {
      this.problems.push(
        'AUTH_TOKEN holds only spaces; set a real token, or leave it unset (or empty) to turn auth off',
      );
    }
    return this.optional('AUTH_TOKEN');
  }

  /** GRPC_TLS_*: the certificate and key come together; a client CA only with them. */
  tls(): TlsFiles | undefined {
    const certFile = this.optional('GRPC_TLS_CERT_FILE');
    const keyFile = this.optional('GRPC_TLS_KEY_FILE');
    const clientCaFile = this.optional('GRPC_TLS_CLIENT_CA_FILE');
    if (certFile === undefined && keyFile === undefined) {
      if (clientCaFile !== undefined) {
        this.problems.push("GRPC_TLS_CLIENT_CA_FILE needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (the server's own)");
      }
      return undefined;
    }
    if (certFile === undefined || keyFile === undefined) {
      const missing = certFile === undefined ? 'GRPC_TLS_CERT_FILE' : 'GRPC_TLS_KEY_FILE';
      this.problems.push(`TLS needs both GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE; ${missing} is not set`);
      return undefined;
    }
    return { certFile, keyFile, clientCaFile };
  }

  /** OTLP_ADDR: an http(s) URL; never echoed in a problem, since it may hold credentials. */
  otlpAddr(): string | undefined {
    const v = this.optional('OTLP_ADDR');
    if (v === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(v);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '') {
      this.problems.push(
        'OTLP_ADDR must be the http:// or https:// URL of an OTLP/HTTP collector, without a query, ' +
          'e.g. http://collector:4318 (spans go to its /v1/traces)',
      );
      return undefined;
    }
    return v.replace(/\/+$/, '');
  }

  /** OTEL_SERVICE_NAME: printable, at most 128 characters. */
  serviceName(): string | undefined {
    const v = this.optional('OTEL_SERVICE_NAME');
    if (v !== undefined && (v.length > 128 || !/^[\x21-\x7e][\x20-\x7e]*$/.test(v))) {
      this.problems.push('OTEL_SERVICE_NAME must be at most 128 printable characters, e.g. jobworkerp-worker');
      return undefined;
    }
    return v;
  }

  optionalInt(name: string): number | undefined {
    const v = this.optional(name);
    return v === undefined ? undefined : this.parseInt(name, v, 0);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T, caseInsensitive: boolean): T {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    const hit = allowed.find((a) => (caseInsensitive ? a.toLowerCase() === v.toLowerCase() : a === v));
    if (hit === undefined) this.problems.push(`${name}=${v} is not one of ${allowed.join(', ')}`);
    return hit ?? fallback;
  }

  hostPort(name: string, fallback: string): [string, number] {
    const v = this.string(name, fallback);
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
    const port = m?.[3] === undefined ? NaN : Number(m[3]);
    if (m === null || !Number.isInteger(port) || port > 65535) {
      this.problems.push(`${name}=${v} must be host:port, e.g. 0.0.0.0:9000`);
      return ['0.0.0.0', 9000];
    }
    return [m[1] ?? (m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2]), port];
  }

  optionalHostPort(name: string): { host: string; port: number } | undefined {
    if (this.optional(name) === undefined) return undefined;
    const [host, port] = this.hostPort(name, '');
    return { host, port };
  }

  channels(defaultConcurrency: number): ChannelConfig[] {
    const names = this.list('WORKER_CHANNELS');
    const concurrencies = this.list('WORKER_CHANNEL_CONCURRENCIES');
    if (concurrencies.length > names.length) {
      this.problems.push(
        `WORKER_CHANNEL_CONCURRENCIES has ${concurrencies.length} values for ${names.length} WORKER_CHANNELS; ` +
          'give one concurrency per channel, in the same order',
      );
    }
    const out: ChannelConfig[] = [{ name: DEFAULT_CHANNEL, concurrency: defaultConcurrency }];
    names.forEach((name, i) => {
      const raw = concurrencies[i];
      const concurrency =
        raw === undefined ? defaultConcurrency : (this.parseInt('WORKER_CHANNEL_CONCURRENCIES', raw, 1) ?? 1);
      if (out.some((c) => c.name === name)) {
        this.problems.push(`WORKER_CHANNELS lists the channel "${name}" twice`);
        return;
      }
      out.push({ name, concurrency });
    });
    return out;
  }

  sqlitePath(): string {
    const v = this.optional('SQLITE_URL') ?? this.optional('SQLITE_PATH') ?? './data/jobworkerp.sqlite3';
    return v.replace(/^sqlite:(\/\/)?/, '').replace(/\?.*$/, '');
  }

  mysql(): MysqlConfig {
    const url = this.optional('DATABASE_URL') ?? this.optional('MYSQL_URL');
    if (url !== undefined) {
      try {
        const u = new URL(url);
        if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new Error('scheme');
        return {
          host: u.hostname || '127.0.0.1',
          port: u.port === '' ? 3306 : Number(u.port),
          user: decodeURIComponent(u.username) || 'root',
          password: u.password === '' ? undefined : decodeURIComponent(u.password),
          database: u.pathname.replace(/^\//, '') || 'jobworkerp',
        };
      } catch {
        // the URL may hold a password: never echo it
        this.problems.push('DATABASE_URL must look like mysql://user:password@host:3306/database');
      }
    }
    return {
      host: this.string('MYSQL_HOST', '127.0.0.1'),
      port: this.int('MYSQL_PORT', 3306, 1),
      user: this.string('MYSQL_USER', 'root'),
      password: this.optional('MYSQL_PASSWORD'),
      database: this.string('MYSQL_DBNAME', 'jobworkerp'),
    };
  }

  private parseInt(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      this.problems.push(`${name}=${raw} must be a whole number ${range}`);
      return undefined;
    }
    return n;
  }
}
