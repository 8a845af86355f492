import type { Cluster, Redis } from 'ioredis';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';

/**
 * Deletes every key of a namespace (for tests, and for retiring a deployment): SCANs each master and unlinks what
 * matches the namespace's patterns (see RedisKeys.patterns). Returns how many keys it deleted. Run it only when no
 * process uses the namespace.
 */
export async function purgeRedisNamespace(redis: RedisConnectionOptions, keyPrefix: string): Promise<number> {
  const keys = new RedisKeys(keyPrefix);
  const connection = new RedisConnection(redis, false);
  try {
    await connection.run((client) => client.ping());
    const client = connection.client;
    const nodes: Redis[] = redis.cluster ? (client as Cluster).nodes('master') : [client as Redis];
    let deleted = 0;
    for (const node of nodes) {
      for (const pattern of keys.patterns) {
        deleted += await connection.run(async () => {
          let count = 0;
          for await (const batch of node.scanStream({ match: pattern, count: 500 })) {
            // one key per UNLINK: keys of one node may still sit in different slots
            const unlinked = await Promise.all((batch as string[]).map((key) => node.unlink(key)));
            count += unlinked.reduce((sum, n) => sum + n, 0);
          }
          return count;
        }, 60_000);
      }
    }
    return deleted;
  } finally {
    await connection.close();
  }
}
