/**
 * Hardening of a real all-in-one, configured through its environment: connection limits on the gRPC port, a long
 * call that outlives them, COMMAND children without the server's secrets, and an AUTH_TOKEN of only spaces.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { connect as connectTcp } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata } from '@grpc/grpc-js';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailRunnerSettings, ResponseType, ResultStatus } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData, workerData } from '../support/worker-data.js';

const TOKEN = 'e2e-hardening-token';
const DB_PASSWORD = 'e2e-not-a-real-password';

describe('an all-in-one with short connection limits and a token', () => {
  let server: ServerProcess;
  let c: Clients;
  const sockets: Socket[] = [];
  const md = (): Metadata => {
    const m = new Metadata();
    m.set('jobworkerp-auth', TOKEN);
    return m;
  };

  beforeAll(async () => {
    server = await startServer({
      env: {
        AUTH_TOKEN: TOKEN,
        MYSQL_PASSWORD: DB_PASSWORD,
        SECRETS_KEY: randomBytes(32).toString('base64'),
        GRPC_MAX_CONNECTION_IDLE_MS: '1000',
        GRPC_KEEPALIVE_TIME_MS: '500',
        GRPC_KEEPALIVE_TIMEOUT_MS: '2000',
      },
    });
    c = connect(server.address);
  }, 60_000);
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    c?.close();
    await server?.stop();
  });

  it('closes a socket that never speaks, and keeps a DIRECT call of a job longer than the idle time', async () => {
    const socket = connectTcp(server.port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => undefined);
    // read, so that the server's end of the connection is seen
    socket.resume();
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));

    const worker = commandWorkerData('sleeper', 'sh', { responseType: ResponseType.DIRECT });
    const id = (await call(c.worker, 'create', worker, md())).id!;
    const res = await call(c.job, 'enqueue', { workerId: id, args: commandArgs('-c', 'sleep 3; echo slept') }, md());
    expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
    expect(Buffer.from(res.result?.data?.output?.items[0] ?? []).toString()).toBe('slept\n');
    expect(await Promise.race([closed, sleep(15_000).then(() => false)])).toBe(true);
  });

  it('stores runner settings encrypted (SECRETS_KEY) and still returns them whole to a client with the token', async () => {
    const password = 'smtp-password-e2e';
    const settings = Buffer.from(
      MailRunnerSettings.encode({
        host: 'smtp.example.com',
        port: 587,
        username: 'u',
        password,
        starttls: true,
        secure: false,
      }).finish(),
    );
    const created = await call(
      c.worker,
      'create',
      workerData({ name: 'mail', runnerId: { value: 6 }, runnerSettings: settings }),
      md(),
    );
    const found = await call(c.worker, 'find', created.id!, md());
    expect(Buffer.from(found.data?.data?.runnerSettings ?? [])).toEqual(settings);
    const db = new BetterSqlite3(join(server.dataDir, 'jobworkerp.sqlite3'), { readonly: true });
    try {
      const row = db.prepare('SELECT runner_settings FROM worker WHERE name = ?').get('mail') as {
        runner_settings: Buffer;
      };
      expect(row.runner_settings.includes(Buffer.from(password))).toBe(false);
    } finally {
      db.close();
    }
  });

  it("runs COMMAND jobs without the server's secrets in their environment", async () => {
    const worker = commandWorkerData('printenv', 'printenv', { responseType: ResponseType.DIRECT });
    const id = (await call(c.worker, 'create', worker, md())).id!;
    const res = await call(c.job, 'enqueue', { workerId: id, args: commandArgs() }, md());
    expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
    const printed = Buffer.from(res.result?.data?.output?.items[0] ?? []).toString();
    expect(printed).toMatch(/^PATH=/m);
    for (const secret of [TOKEN, DB_PASSWORD, 'AUTH_TOKEN', 'MYSQL_PASSWORD']) expect(printed).not.toContain(secret);
  });
});

it('refuses to start with an AUTH_TOKEN of only spaces', async () => {
  const error = await startServer({ env: { AUTH_TOKEN: '   ' }, startTimeoutMs: 30_000 }).then(
    async (started) => {
      await started.stop();
      return undefined;
    },
    (err: unknown) => err as Error,
  );
  expect(error?.message).toMatch(/exited with code [1-9]/);
  expect(error?.message).toContain('AUTH_TOKEN holds only spaces');
}, 60_000);
