/** BullMQ's connection options for a redis:// URL (BullMQ's Worker needs maxRetriesPerRequest: null). */
import type { ConnectionOptions } from 'bullmq';

export function bullmqConnection(redisUrl: string): ConnectionOptions {
  return { url: redisUrl, maxRetriesPerRequest: null };
}
