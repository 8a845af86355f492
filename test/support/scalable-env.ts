/** The environment of a Scalable process on the shared test services: MariaDB at 127.0.0.1:3306, Redis at :6379. */
export function scalableEnv(database: string, keyPrefix: string): Record<string, string> {
  return {
    STORAGE_TYPE: 'Scalable',
    MYSQL_HOST: '127.0.0.1',
    MYSQL_PORT: '3306',
    MYSQL_USER: 'root',
    MYSQL_DBNAME: database,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: keyPrefix,
  };
}
