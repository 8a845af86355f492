/** The run's MariaDB/MySQL database: created at the start of a run, dropped at its end. */
import { createConnection } from 'mysql2/promise';
import type { MariaDbServer } from './bench-options.js';
import { uniqueName } from './unique-name.js';

export interface RunDatabase {
  readonly name: string;
  /** the server's version string (SELECT VERSION()) */
  readonly serverVersion: string;
  drop(): Promise<void>;
}

export async function createRunDatabase(server: MariaDbServer): Promise<RunDatabase> {
  const name = uniqueName('jwbench').replace('-', '_');
  const connect = () =>
    createConnection({ host: server.host, port: server.port, user: server.user }).catch((err: Error) => {
      const where = `${server.host}:${server.port}`;
      throw new Error(`MariaDB/MySQL at ${where} is not reachable: ${err.message}`, { cause: err });
    });
  const conn = await connect();
  let serverVersion: string;
  try {
    const [rows] = await conn.query('SELECT VERSION() AS version');
    serverVersion = String((rows as Array<{ version: string }>)[0]?.version);
    await conn.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await conn.end();
  }
  return {
    name,
    serverVersion,
    drop: async () => {
      const c = await connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}
