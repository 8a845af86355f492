import { InternalError } from '../../core/src/index.js';

/** Checks on the shape of script and command replies, so a mismatch fails loudly instead of corrupting a job. */
export const redisReply = {
  array(reply: unknown): unknown[] {
    if (!Array.isArray(reply)) throw unexpected(reply, 'an array');
    return reply as unknown[];
  },
  number(reply: unknown): number {
    if (typeof reply !== 'number') throw unexpected(reply, 'a number');
    return reply;
  },
  bytes(reply: unknown): Buffer {
    if (!Buffer.isBuffer(reply)) throw unexpected(reply, 'bytes');
    return reply;
  },
};

function unexpected(reply: unknown, wanted: string): InternalError {
  return new InternalError(`unexpected Redis reply: ${typeof reply} where ${wanted} was due`);
}
