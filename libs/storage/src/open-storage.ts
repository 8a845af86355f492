import type { MysqlStorageOptions } from './mysql-storage.js';
import { openMysqlStorage } from './mysql-storage.js';
import type { Storage } from './ports.js';
import type { SqliteStorageOptions } from './sqlite-storage.js';
import { openSqliteStorage } from './sqlite-storage.js';

/** Which database to open: a SQLite file (Standalone) or a MySQL/MariaDB server (Scalable). */
export type StorageSpec =
  ({ readonly kind: 'sqlite' } & SqliteStorageOptions) | ({ readonly kind: 'mysql' } & MysqlStorageOptions);

export function openStorage(spec: StorageSpec): Promise<Storage> {
  switch (spec.kind) {
    case 'sqlite':
      return openSqliteStorage(spec);
    case 'mysql':
      return openMysqlStorage(spec);
  }
}
