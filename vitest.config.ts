import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/**/*.test.ts', 'apps/**/*.test.ts', 'plugins/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // suites share Redis and MariaDB but isolate themselves (own database, key prefix); keep the 2-core box calm
    maxWorkers: 2,
    fileParallelism: true,
  },
});
