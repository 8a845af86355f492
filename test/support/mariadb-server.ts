/**
 * A private MariaDB server for outage tests: its own data folder (made by mariadb-install-db) and a free loopback
 * port, root without a password plus one password account for the processes under test. stop() and start() take it
 * down and bring it back on the same port and data; cleanup() kills it and removes the folder. Fails with a clear
 * message when MariaDB's server programs are not installed: the tests that need it must not be skipped silently.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from 'mysql2/promise';
import { createConnection } from 'mysql2/promise';
import { freePort, RestartableProcess } from './restartable-process.js';

const run = promisify(execFile);

export interface MariaDbAccount {
  readonly user: string;
  readonly password: string;
}

export interface MariaDbServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly running: boolean;
  /** what mariadbd printed over all its runs */
  output(): string;
  /** a new root connection (the caller ends it) */
  connect(database?: string): Promise<Connection>;
  /** stops the server with `signal` and waits for its exit (SIGTERM: a clean shutdown) */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** starts it again on the same port and data and waits until it answers queries */
  start(): Promise<void>;
  /** stops it (SIGKILL) and removes its folder; safe to call twice */
  cleanup(): Promise<void>;
}

/** Small InnoDB files and buffers: the test data is tiny, and the box has 2 cores. */
const INNODB_OPTIONS = ['--innodb-log-file-size=16M', '--innodb-buffer-pool-size=32M'];

/** Initialises a data folder, starts the server and creates `account` with every privilege. */
export async function startMariaDbServer(account: MariaDbAccount): Promise<MariaDbServer> {
  const installDb = locate('mariadb-install-db');
  const mariadbd = locate('mariadbd');
  const dir = mkdtempSync(join(tmpdir(), 'jw-mariadb-'));
  const datadir = join(dir, 'data');
  const port = await freePort();
  // a root process must say which user the server runs as
  const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];
  const server = new RestartableProcess('mariadbd', mariadbd, [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    '--skip-name-resolve',
    ...INNODB_OPTIONS,
    ...asUser,
  ]);
  const connect = (database?: string): Promise<Connection> =>
    createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      connectTimeout: 2_000,
      ...(database === undefined ? {} : { database }),
    });
  const answers = async (): Promise<boolean> => {
    const conn = await connect();
    try {
      await conn.query('SELECT 1');
      return true;
    } finally {
      await conn.end();
    }
  };
  const start = (): Promise<void> => server.start({ ready: answers, timeoutMs: 30_000 });
  const cleanup = async (): Promise<void> => {
    await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(installDb, [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      ...INNODB_OPTIONS,
      ...asUser,
    ]).catch((err: Error & { stderr?: string }) => {
      throw new Error(`mariadb-install-db failed: ${err.message}\n${err.stderr ?? ''}`);
    });
    await start();
    const conn = await connect();
    try {
      await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [account.user, '127.0.0.1', account.password]);
      await conn.query('GRANT ALL PRIVILEGES ON *.* TO ?@?', [account.user, '127.0.0.1']);
    } finally {
      await conn.end();
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    get running() {
      return server.running;
    },
    output: () => server.output(),
    connect,
    stop: (signal = 'SIGTERM') => server.stop(signal),
    start,
    cleanup,
  };
}

/** The path of a MariaDB program, looked up in PATH and the sbin folders; throws a clear error when missing. */
function locate(program: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const path = join(dir, program);
    if (dir !== '' && existsSync(path)) return path;
  }
  throw new Error(
    `${program} is not installed: this test starts its own MariaDB server and needs MariaDB's server programs ` +
      '(Debian/Ubuntu: apt-get install mariadb-server)',
  );
}
