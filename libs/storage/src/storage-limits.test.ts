/**
 * What the databases cannot hold is refused as a bad value, never reported as an outage; and MariaDB's limit on args
 * (derived from max_allowed_packet) is one a job row and a result row really take.
 */
import { randomBytes } from 'node:crypto';
import mysqlPromise from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, Priority, ResponseType, ResultStatus, UnavailableError } from '../../core/src/index.js';
import type { DbErrorKind } from './db-errors.js';
import { toStorageError, withDbErrors } from './db-errors.js';
import { mysqlMaxArgsBytes, openMysqlStorage } from './mysql-storage.js';
import type { Storage } from './ports.js';

const ctx = { hint: 'check the database', secrets: [] };
const driverError = (fields: Record<string, unknown>): Error =>
  Object.assign(new Error(String(fields['message'])), fields);

describe('driver errors about values', () => {
  it.each([
    [
      'MySQL packet too large',
      {
        code: 'ER_NET_PACKET_TOO_LARGE',
        errno: 1153,
        fatal: true,
        message: "Got a packet bigger than 'max_allowed_packet' bytes",
      },
    ],
    ['SQLite blob too big', { code: 'SQLITE_TOOBIG', message: 'string or blob too big' }],
    [
      'MySQL data too long',
      { code: 'ER_DATA_TOO_LONG', errno: 1406, message: "Data too long for column 'uniq_key' at row 1" },
    ],
    [
      'MySQL out of range',
      { code: 'ER_WARN_DATA_OUT_OF_RANGE', errno: 1264, message: "Out of range value for column 'timeout' at row 1" },
    ],
    [
      'SQLite CHECK length',
      { code: 'SQLITE_CONSTRAINT_CHECK', message: 'CHECK constraint failed: uniq_key_max_length' },
    ],
  ])('%s is an invalid argument, not "unavailable"', (_what, fields) => {
    const err = toStorageError(driverError(fields), ctx);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).not.toContain('unavailable');
  });

  it('a dropped connection is still an outage', () => {
    const err = toStorageError(driverError({ code: 'ECONNRESET', message: 'write ECONNRESET' }), ctx);
    expect(err).toBeInstanceOf(UnavailableError);
  });

  it('tells the error counter the kind of each driver error an operation ends with, and only those', async () => {
    const told: DbErrorKind[] = [];
    const counted = { ...ctx, onError: (kind: DbErrorKind) => told.push(kind) };
    const fail = (fields: Record<string, unknown>) => () => Promise.reject(driverError(fields));
    await expect(withDbErrors(counted, fail({ code: 'ECONNRESET', message: 'gone' }))).rejects.toThrow(
      UnavailableError,
    );
    await expect(withDbErrors(counted, fail({ code: 'ER_DUP_ENTRY', message: "for key 'x'" }))).rejects.toThrow();
    // our own errors are not the database's
    await expect(withDbErrors(counted, () => Promise.reject(new InvalidArgumentError('no')))).rejects.toThrow();
    expect(await withDbErrors(counted, async () => 1)).toBe(1);
    expect(told).toEqual(['unavailable', 'duplicate']);
  });
});

describe('MariaDB args limit', () => {
  const database = `jw_limits_${randomBytes(4).toString('hex')}`;
  const server = { host: '127.0.0.1', port: 3306, user: 'root', password: undefined } as const;
  let storage: Storage;
  let packet: number;

  beforeAll(async () => {
    storage = await openMysqlStorage({ ...server, database, poolSize: 2 });
    await storage.migrate();
    const conn = await mysqlPromise.createConnection(server);
    const [rows] = await conn.query<mysqlPromise.RowDataPacket[]>('SELECT @@GLOBAL.max_allowed_packet AS bytes');
    packet = Number(rows[0]?.['bytes']);
    await conn.end();
  });

  afterAll(async () => {
    await storage?.close();
    const conn = await mysqlPromise.createConnection(server);
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await conn.end();
  });

  it('follows max_allowed_packet and the MEDIUMBLOB size', () => {
    expect(storage.capabilities.maxArgsBytes).toBe(mysqlMaxArgsBytes(packet));
    expect(mysqlMaxArgsBytes(16 * 1024 * 1024)).toBe(8 * 1024 * 1024 - 32 * 1024);
    expect(mysqlMaxArgsBytes(1024 * 1024 * 1024)).toBe(2 ** 24 - 1);
  });

  it('stores a job row and a result row whose args are exactly the limit', async () => {
    const args = Buffer.alloc(storage.capabilities.maxArgsBytes, 7);
    const base = {
      workerId: 1,
      args,
      uniqKey: 'k'.repeat(255),
      enqueueTime: 1,
      retried: 0,
      priority: Priority.PRIORITY_MEDIUM,
      timeout: 0,
    };
    await storage.jobs.insert({ ...base, id: 1, grabbedUntilTime: undefined, runAfterTime: 5 });
    expect((await storage.jobs.find(1))?.args.length).toBe(args.length);
    await storage.results.insert({
      ...base,
      id: 2,
      jobId: 1,
      workerName: 'w'.repeat(128),
      status: ResultStatus.SUCCESS,
      output: [Buffer.from('small output')],
      maxRetry: 0,
      runAfterTime: 5,
      startTime: 2,
      endTime: 3,
      responseType: ResponseType.LISTEN_AFTER,
      storeSuccess: true,
      storeFailure: true,
    });
    expect((await storage.results.find(2))?.args.length).toBe(args.length);
    // a dead letter has the same args column and a few small ones
    await storage.deadLetters.insert({
      ...base,
      id: 3,
      jobId: 1,
      workerName: 'w'.repeat(128),
      status: ResultStatus.MAX_RETRY,
      output: [Buffer.from('small output')],
      maxRetry: 0,
      runAfterTime: 5,
      startTime: 2,
      endTime: 3,
      diedAt: 4,
      requeuedJobId: undefined,
      requeuedAt: undefined,
    });
    expect((await storage.deadLetters.find(3))?.args.length).toBe(args.length);
  });
});
