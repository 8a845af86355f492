import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientAuthTokenFromEnv, clientTlsFilesFromEnv } from './client-env.js';
import { ConfigError, DEFAULT_CHANNEL, loadConfig } from './config.js';

const load = (env: Record<string, string>) => loadConfig({ env, envFile: false });

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = load({});
    expect(c.storageType).toBe('Standalone');
    expect(c.grpc).toMatchObject({ host: '0.0.0.0', port: 9000, authToken: undefined });
    expect(c.queue.fetchIntervalMs).toBe(1000);
    expect(c.queue.expireJobResultMs).toBe(86_400_000);
    expect(c.worker.channels[0]?.name).toBe(DEFAULT_CHANNEL);
    expect(c.storage.sqlitePath).toBe('./data/jobworkerp.sqlite3');
    expect(Object.isFrozen(c.worker.channels)).toBe(true);
  });

  it('reads the HTTP surfaces and TLS files, and refuses half a TLS setup', () => {
    const c = load({ HTTP_ADDR: '127.0.0.1:0', HTTP_CORS_ORIGINS: 'https://a.example, https://b.example' });
    expect(c.http).toMatchObject({ addr: { host: '127.0.0.1', port: 0 }, maxBodyBytes: 4 * 1024 * 1024 });
    expect(c.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(load({}).http.addr).toBeUndefined();
    expect(load({}).tls).toBeUndefined();
    expect(load({ GRPC_TLS_CERT_FILE: 'c.pem', GRPC_TLS_KEY_FILE: 'k.pem' }).tls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      clientCaFile: undefined,
    });
    expect(() => load({ GRPC_TLS_CERT_FILE: 'c.pem' })).toThrow(/GRPC_TLS_KEY_FILE is not set/);
    expect(() => load({ GRPC_TLS_CLIENT_CA_FILE: 'ca.pem' })).toThrow(/GRPC_TLS_CLIENT_CA_FILE needs/);
    expect(() => load({ HTTP_MAX_BODY_BYTES: '10' })).toThrow(/HTTP_MAX_BODY_BYTES/);
  });

  it('turns the poulpe API on with POULPE_HTTP_ADDR, with safe defaults, and names each bad POULPE_ setting', () => {
    expect(load({}).poulpe).toBeUndefined();
    // the other POULPE_ settings are not read while the API is off
    expect(load({ POULPE_MAX_RETRY: 'x' }).poulpe).toBeUndefined();
    const c = load({ POULPE_HTTP_ADDR: '127.0.0.1:0' }).poulpe;
    expect(c).toEqual({
      addr: { host: '127.0.0.1', port: 0 },
      httpOrigins: [],
      execAllowlist: [],
      smtp: undefined,
      mailFrom: undefined,
      mailFromAllowlist: [],
      workerPrefix: 'poulpe',
      channel: undefined,
      ccChannel: undefined,
      maxRetry: 3,
      retryIntervalMs: 10_000,
      taskTimeoutMs: 300_000,
      maxWaitSeconds: 3600,
    });
    const full = load({
      POULPE_HTTP_ADDR: '0.0.0.0:9527',
      POULPE_HTTP_ORIGINS: 'http://127.0.0.1:8080, https://api.example.com/, http://plain.example:80',
      POULPE_EXEC_ALLOWLIST: '/bin/echo, date',
      POULPE_SMTP_HOST: 'smtp.example.com',
      POULPE_SMTP_PORT: '2525',
      POULPE_SMTP_USERNAME: 'robot',
      POULPE_SMTP_PASSWORD: 'hunter2',
      POULPE_SMTP_STARTTLS: 'true',
      POULPE_MAIL_FROM: 'robot@example.com',
      POULPE_MAIL_FROM_ALLOWLIST: 'alerts@example.com',
      POULPE_CC_CHANNEL: 'pinned',
      POULPE_MAX_RETRY: '0',
      POULPE_RETRY_INTERVAL_MS: '250',
    }).poulpe;
    expect(full).toMatchObject({
      httpOrigins: ['http://127.0.0.1:8080', 'https://api.example.com', 'http://plain.example'],
      execAllowlist: ['/bin/echo', 'date'],
      smtp: {
        host: 'smtp.example.com',
        port: 2525,
        username: 'robot',
        password: 'hunter2',
        secure: false,
        starttls: true,
      },
      mailFrom: 'robot@example.com',
      mailFromAllowlist: ['alerts@example.com'],
      ccChannel: 'pinned',
      maxRetry: 0,
      retryIntervalMs: 250,
    });
    const bad = (env: Record<string, string>): string => {
      try {
        load({ POULPE_HTTP_ADDR: '127.0.0.1:0', ...env });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('the config was accepted');
    };
    expect(bad({ POULPE_HTTP_ORIGINS: 'http://a.example/path' })).toMatch(/POULPE_HTTP_ORIGINS: .* is not an origin/);
    expect(bad({ POULPE_HTTP_ORIGINS: 'ftp://a.example' })).toMatch(/POULPE_HTTP_ORIGINS/);
    expect(bad({ POULPE_HTTP_ORIGINS: 'https://user:pw@a.example' })).toMatch(
      /POULPE_HTTP_ORIGINS: a value with user@/,
    );
    expect(bad({ POULPE_HTTP_ORIGINS: 'https://user:pw@a.example' })).not.toMatch(/pw/);
    expect(bad({ POULPE_HTTP_ORIGINS: 'a.example' })).toMatch(/POULPE_HTTP_ORIGINS/);
    expect(bad({ POULPE_MAIL_FROM: 'nobody' })).toMatch(/POULPE_MAIL_FROM: "nobody" is not a mail address/);
    expect(bad({ POULPE_MAX_RETRY: '-1' })).toMatch(/POULPE_MAX_RETRY=-1 must be a whole number/);
    expect(bad({ POULPE_SMTP_HOST: 'h', POULPE_SMTP_PORT: '70000' })).toMatch(/POULPE_SMTP_PORT/);
    expect(bad({ POULPE_SMTP_HOST: 'h', POULPE_SMTP_PASSWORD: 's3cret', POULPE_SMTP_SECURE: 'maybe' })).not.toMatch(
      /s3cret/,
    );
    expect(bad({ POULPE_MAX_WAIT_SECONDS: '0' })).toMatch(/POULPE_MAX_WAIT_SECONDS/);
    expect(() => load({ POULPE_HTTP_ADDR: 'nowhere' })).toThrow(/POULPE_HTTP_ADDR=nowhere must be host:port/);
  });

  it('serves gRPC-Web only on an HTTP_ADDR', () => {
    expect(load({ USE_GRPC_WEB: 'true', HTTP_ADDR: '127.0.0.1:8080' }).grpc.useGrpcWeb).toBe(true);
    expect(() => load({ USE_GRPC_WEB: 'true' })).toThrow(/USE_GRPC_WEB=true needs HTTP_ADDR/);
    expect(load({ HTTP_ADDR: '127.0.0.1:8080' }).grpc.useGrpcWeb).toBe(false);
  });

  it('sizes the plugin thread pools to the cores unless PLUGIN_THREADS says otherwise', () => {
    expect(load({}).runners.pluginThreads).toBe(availableParallelism());
    expect(load({ PLUGIN_THREADS: '3' }).runners.pluginThreads).toBe(3);
    expect(() => load({ PLUGIN_THREADS: '0' })).toThrow(/PLUGIN_THREADS/);
  });

  it('caps the backlog per channel and in total (twice the per-channel cap unless set)', () => {
    expect(load({}).queue).toMatchObject({ maxPendingPerChannel: 100_000, maxPendingTotal: 200_000 });
    expect(load({ JOB_QUEUE_MAX_PENDING: '10' }).queue).toMatchObject({
      maxPendingPerChannel: 10,
      maxPendingTotal: 20,
    });
    expect(load({ JOB_QUEUE_MAX_PENDING_TOTAL: '5000' }).queue.maxPendingTotal).toBe(5000);
    expect(() => load({ JOB_QUEUE_MAX_PENDING_TOTAL: '0' })).toThrow('JOB_QUEUE_MAX_PENDING_TOTAL');
  });

  it('keeps dead letters by default for 30 days and up to 100,000, and bounds both', () => {
    expect(load({}).deadLetters).toEqual({ enabled: true, retentionMs: 2_592_000_000, maxCount: 100_000 });
    expect(
      load({ DEAD_LETTER_ENABLED: 'false', DEAD_LETTER_RETENTION_SECONDS: '60', DEAD_LETTER_MAX_COUNT: '5' })
        .deadLetters,
    ).toEqual({ enabled: false, retentionMs: 60_000, maxCount: 5 });
    expect(() => load({ DEAD_LETTER_MAX_COUNT: '0' })).toThrow(/DEAD_LETTER_MAX_COUNT/);
    expect(() => load({ DEAD_LETTER_RETENTION_SECONDS: '99999999999' })).toThrow(/DEAD_LETTER_RETENTION_SECONDS/);
  });

  it('beats every 5 s and drops a process after three missed heartbeats by default; the timeout exceeds the interval', () => {
    expect(load({}).processes).toEqual({ heartbeatIntervalMs: 5000, heartbeatTimeoutMs: 15_000 });
    expect(load({ HEARTBEAT_INTERVAL_MS: '300' }).processes).toEqual({
      heartbeatIntervalMs: 300,
      heartbeatTimeoutMs: 900,
    });
    expect(load({ HEARTBEAT_INTERVAL_MS: '300', HEARTBEAT_TIMEOUT_MS: '2000' }).processes.heartbeatTimeoutMs).toBe(
      2000,
    );
    expect(() => load({ HEARTBEAT_INTERVAL_MS: '1000', HEARTBEAT_TIMEOUT_MS: '1000' })).toThrow(/HEARTBEAT_TIMEOUT_MS/);
    expect(() => load({ HEARTBEAT_INTERVAL_MS: '10' })).toThrow(/HEARTBEAT_INTERVAL_MS/);
  });

  it('reads channels and their concurrencies by position', () => {
    const c = load({ WORKER_DEFAULT_CONCURRENCY: '3', WORKER_CHANNELS: 'a, b', WORKER_CHANNEL_CONCURRENCIES: '5' });
    expect(c.worker.channels).toEqual([
      { name: DEFAULT_CHANNEL, concurrency: 3 },
      { name: 'a', concurrency: 5 },
      { name: 'b', concurrency: 3 },
    ]);
  });

  it('leaves the HTTP health endpoint off unless HEALTH_ADDR is set, and checks dependencies every 5 s', () => {
    expect(load({}).health).toEqual({ addr: undefined, checkIntervalMs: 5000 });
    expect(load({ HEALTH_ADDR: '0.0.0.0:9010', HEALTH_CHECK_INTERVAL_MS: '250' }).health).toEqual({
      addr: { host: '0.0.0.0', port: 9010 },
      checkIntervalMs: 250,
    });
    expect(load({ HEALTH_ADDR: '[::1]:0' }).health.addr).toEqual({ host: '::1', port: 0 });
    expect(() => load({ HEALTH_ADDR: '9010' })).toThrow(/HEALTH_ADDR=9010 must be host:port/);
    expect(() => load({ HEALTH_CHECK_INTERVAL_MS: '10' })).toThrow(/HEALTH_CHECK_INTERVAL_MS/);
  });

  it('keeps retry delays exact unless RETRY_JITTER spreads them by a fraction from 0 to 1', () => {
    expect(load({}).queue.retryJitter).toBe(0);
    expect(load({ RETRY_JITTER: '0.3' }).queue.retryJitter).toBe(0.3);
    expect(load({ RETRY_JITTER: '1' }).queue.retryJitter).toBe(1);
    for (const bad of ['1.5', '-0.1', 'x', '30%']) {
      expect(() => load({ RETRY_JITTER: bad })).toThrow(`RETRY_JITTER=${bad} must be a fraction from 0 to 1`);
    }
  });

  it('leaves the poussetaches API off unless POUSSETACHES_HTTP_ADDR is set, with poussetaches-like retries', () => {
    expect(load({}).poussetaches).toEqual({
      addr: undefined,
      authKey: undefined,
      workerName: 'poussetaches',
      channel: undefined,
      maxTries: 11,
      retryBaseMs: 1000,
      requestTimeoutMs: 30_000,
      listLimit: 1000,
    });
    const on = load({
      POUSSETACHES_HTTP_ADDR: '127.0.0.1:7991',
      POUSSETACHES_AUTH_KEY: ' s3cret ',
      POUSSETACHES_WORKER: 'push',
      POUSSETACHES_CHANNEL: 'push-channel',
      POUSSETACHES_MAX_TRIES: '3',
      POUSSETACHES_RETRY_BASE_MS: '50',
      POUSSETACHES_REQUEST_TIMEOUT_MS: '2000',
      POUSSETACHES_LIST_LIMIT: '10',
    }).poussetaches;
    expect(on).toEqual({
      addr: { host: '127.0.0.1', port: 7991 },
      authKey: 's3cret',
      workerName: 'push',
      channel: 'push-channel',
      maxTries: 3,
      retryBaseMs: 50,
      requestTimeoutMs: 2000,
      listLimit: 10,
    });
    expect(() => load({ POUSSETACHES_HTTP_ADDR: '7991' })).toThrow(/POUSSETACHES_HTTP_ADDR=7991 must be host:port/);
    expect(() => load({ POUSSETACHES_MAX_TRIES: '0' })).toThrow(/POUSSETACHES_MAX_TRIES=0 must be a whole number/);
    expect(() => load({ POUSSETACHES_RETRY_BASE_MS: 'x' })).toThrow(/POUSSETACHES_RETRY_BASE_MS=x/);
    expect(() => load({ POUSSETACHES_REQUEST_TIMEOUT_MS: '0' })).toThrow(/POUSSETACHES_REQUEST_TIMEOUT_MS/);
    expect(() => load({ POUSSETACHES_LIST_LIMIT: '-1' })).toThrow(/POUSSETACHES_LIST_LIMIT/);
  });

  it('leaves the metrics endpoint off unless METRICS_ADDR is set', () => {
    expect(load({}).telemetry.metricsAddr).toBeUndefined();
    expect(load({ METRICS_ADDR: '0.0.0.0:9464' }).telemetry.metricsAddr).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(() => load({ METRICS_ADDR: 'metrics' })).toThrow(/METRICS_ADDR=metrics must be host:port/);
  });

  it('traces only when OTLP_ADDR is set, to an http(s) collector, never echoing the address in an error', () => {
    expect(load({}).telemetry).toMatchObject({ otlpAddr: undefined, serviceName: undefined });
    expect(load({ OTLP_ADDR: 'http://collector:4318/' }).telemetry.otlpAddr).toBe('http://collector:4318');
    expect(load({ OTLP_ADDR: 'https://otel.example/v1/traces' }).telemetry.otlpAddr).toBe(
      'https://otel.example/v1/traces',
    );
    expect(load({ OTEL_SERVICE_NAME: 'jobs-eu' }).telemetry.serviceName).toBe('jobs-eu');
    for (const bad of ['collector:4318', 'grpc://collector:4317', 'http://u:s3cret@collector:4318/?x=s3cret']) {
      expect(() => load({ OTLP_ADDR: bad }), bad).toThrow(/OTLP_ADDR must be the http:\/\/ or https:\/\/ URL/);
      expect(() => load({ OTLP_ADDR: bad })).not.toThrow(/s3cret/);
    }
    expect(() => load({ OTEL_SERVICE_NAME: 'x'.repeat(129) })).toThrow(/OTEL_SERVICE_NAME/);
    expect(() => load({ OTEL_SERVICE_NAME: 'tab\there' })).toThrow(/OTEL_SERVICE_NAME/);
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      load({ STORAGE_TYPE: 'Cloud', JOB_QUEUE_FETCH_INTERVAL: 'soon', GRPC_ADDR: 'nowhere', USE_GRPC_WEB: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const name of ['STORAGE_TYPE', 'JOB_QUEUE_FETCH_INTERVAL', 'GRPC_ADDR', 'USE_GRPC_WEB'])
      expect(message).toContain(name);
  });

  it('accepts the STORAGE_REFLESH_FROM_RDB alias and a DATABASE_URL without echoing its password', () => {
    const c = load({ STORAGE_REFLESH_FROM_RDB: 'true', DATABASE_URL: 'mysql://u:p%40ss@db.local:3307/jw' });
    expect(c.restoreAtStartup).toBe(true);
    expect(c.storage.mysql).toEqual({ host: 'db.local', port: 3307, user: 'u', password: 'p@ss', database: 'jw' });
    expect(() => load({ DATABASE_URL: 'postgres://u:hunter2@x/y' })).toThrow(/DATABASE_URL/);
    try {
      load({ DATABASE_URL: 'postgres://u:hunter2@x/y' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('refuses an AUTH_TOKEN of only spaces instead of turning auth off; empty means unset', () => {
    expect(() => load({ AUTH_TOKEN: '   ' })).toThrow(/AUTH_TOKEN holds only spaces/);
    expect(() => load({ AUTH_TOKEN: ' \t ' })).toThrow(ConfigError);
    expect(load({ AUTH_TOKEN: '' }).grpc.authToken).toBeUndefined();
    expect(load({ AUTH_TOKEN: ' t0k ' }).grpc.authToken).toBe('t0k');
  });

  it('reads the gRPC connection limits, 0 meaning off, and bounds the times to what a timer takes', () => {
    const c = load({ GRPC_MAX_CONNECTION_IDLE_MS: '0', GRPC_MAX_CONNECTIONS: '50', GRPC_MAX_CONCURRENT_STREAMS: '8' });
    expect(c.grpc).toMatchObject({
      maxConnectionIdleMs: 0,
      maxConnections: 50,
      maxConcurrentStreams: 8,
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 20_000,
      maxConnectionAgeMs: 0,
      maxConnectionAgeGraceMs: 0,
    });
    expect(() => load({ GRPC_KEEPALIVE_TIME_MS: String(2 ** 31) })).toThrow(
      /GRPC_KEEPALIVE_TIME_MS=2147483648 must be a whole number from 0 to 2147483647/,
    );
    expect(() => load({ GRPC_MAX_CONNECTIONS: '0' })).toThrow(/GRPC_MAX_CONNECTIONS/);
    for (const name of ['SHUTDOWN_GRACE_PERIOD_MS', 'JOB_LEASE_MS', 'JOB_QUEUE_FETCH_INTERVAL']) {
      expect(() => load({ [name]: String(2 ** 31) }), name).toThrow(
        new RegExp(`${name}=2147483648 must be a whole number from`),
      );
    }
  });

  it('gives COMMAND children PATH, HOME, LANG and the allowlisted variables only', () => {
    const env = {
      PATH: '/bin',
      HOME: '/root',
      LANG: 'C',
      AUTH_TOKEN: 'tok',
      MYSQL_PASSWORD: 'pw',
      TZ: 'UTC',
      LC_ALL: 'C',
      LC_TIME: 'C',
    };
    expect(load(env).worker.commandEnv).toEqual({ PATH: '/bin', HOME: '/root', LANG: 'C' });
    expect(load({ ...env, COMMAND_ENV_ALLOWLIST: 'TZ, LC_*, MISSING' }).worker.commandEnv).toEqual({
      PATH: '/bin',
      HOME: '/root',
      LANG: 'C',
      TZ: 'UTC',
      LC_ALL: 'C',
      LC_TIME: 'C',
    });
  });

  it('reads SECRETS_KEY as hex or base64 of 32 bytes, and refuses anything else without echoing it', () => {
    const hex = 'ab'.repeat(32);
    expect(load({ SECRETS_KEY: hex }).storage.secretsKeyHex).toBe(hex);
    expect(load({ SECRETS_KEY: Buffer.from(hex, 'hex').toString('base64') }).storage.secretsKeyHex).toBe(hex);
    expect(load({}).storage.secretsKeyHex).toBeUndefined();
    const short = 'c2hvcnQta2V5';
    expect(() => load({ SECRETS_KEY: short })).toThrow(/SECRETS_KEY must be 32 random bytes/);
    expect(() => load({ SECRETS_KEY: short })).not.toThrow(new RegExp(short));
    const other = 'cd'.repeat(32);
    expect(
      load({ SECRETS_KEY: hex, SECRETS_KEY_PREVIOUS: `${other}, ${Buffer.from(hex, 'hex').toString('base64')}` })
        .storage,
    ).toMatchObject({ secretsKeyHex: hex, previousSecretsKeysHex: [other, hex] });
    expect(() => load({ SECRETS_KEY: hex, SECRETS_KEY_PREVIOUS: short })).toThrow(
      /SECRETS_KEY_PREVIOUS must be 32 random bytes/,
    );
  });

  it('reads a .env file under the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jw-cfg-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'GRPC_ADDR=127.0.0.1:7000\nLOG_LEVEL=debug\n');
    const c = loadConfig({ env: { LOG_LEVEL: 'warn' }, envFile: file });
    expect(c.grpc.port).toBe(7000);
    expect(c.log.level).toBe('warn');
  });
});

describe('clientAuthTokenFromEnv', () => {
  it('reads JOBWORKERP_AUTH_TOKEN, treating empty as unset', () => {
    expect(clientAuthTokenFromEnv({ JOBWORKERP_AUTH_TOKEN: 't0k' })).toBe('t0k');
    expect(clientAuthTokenFromEnv({ JOBWORKERP_AUTH_TOKEN: '' })).toBeUndefined();
    expect(clientAuthTokenFromEnv({})).toBeUndefined();
  });
});

describe('clientTlsFilesFromEnv', () => {
  it('reads JOBWORKERP_CA_FILE, JOBWORKERP_CERT_FILE and JOBWORKERP_KEY_FILE, treating empty as unset', () => {
    expect(
      clientTlsFilesFromEnv({
        JOBWORKERP_CA_FILE: 'ca.pem',
        JOBWORKERP_CERT_FILE: 'c.pem',
        JOBWORKERP_KEY_FILE: 'k.pem',
      }),
    ).toEqual({ caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' });
    expect(clientTlsFilesFromEnv({ JOBWORKERP_CA_FILE: '' })).toEqual({
      caFile: undefined,
      certFile: undefined,
      keyFile: undefined,
    });
  });
});
