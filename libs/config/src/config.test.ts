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

  it('leaves the metrics endpoint off unless METRICS_ADDR is set', () => {
    expect(load({}).telemetry.metricsAddr).toBeUndefined();
    expect(load({ METRICS_ADDR: '0.0.0.0:9464' }).telemetry.metricsAddr).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(() => load({ METRICS_ADDR: 'metrics' })).toThrow(/METRICS_ADDR=metrics must be host:port/);
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
