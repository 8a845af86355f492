import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

/** A fresh MariaDB database on 127.0.0.1:3306 (root, no password) for one test file; drop() removes it. */
export async function tempMariaDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `jw_e2e_${randomBytes(4).toString('hex')}`;
  const conn = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root' }).catch((err: Error) => {
    throw new Error(`MariaDB at 127.0.0.1:3306 is not reachable (${err.message}); run scripts/ensure-services.sh`);
  });
  await conn.query(`CREATE DATABASE \`${name}\``);
  await conn.end();
  return {
    name,
    drop: async () => {
      const c = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
