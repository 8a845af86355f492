export * from './ports.js';
export { openStorage } from './open-storage.js';
export type { StorageSpec } from './open-storage.js';
export { openSqliteStorage } from './sqlite-storage.js';
export type { SqliteStorageOptions } from './sqlite-storage.js';
export { openMysqlStorage } from './mysql-storage.js';
export type { MysqlStorageOptions } from './mysql-storage.js';
export type { DbErrorKind } from './db-errors.js';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, normalizePage } from './paging.js';
