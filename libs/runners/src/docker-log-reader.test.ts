import { describe, expect, it } from 'vitest';
import { readDockerLogs } from './docker-log-reader.js';

const frame = (stream: 1 | 2, payload: string): Buffer => {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
};

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('readDockerLogs', () => {
  const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, ''), frame(1, 'world')]);

  it('demultiplexes stdout and stderr whatever the chunking', async () => {
    for (const size of [1, 3, 7, 8, 9, all.length]) {
      const logs = await readDockerLogs(chunks(all, size), 100);
      expect([logs.stdout.toString(), logs.stderr.toString(), logs.exceeded]).toEqual(['hello world', 'oops', false]);
    }
  });

  it('stops at the limit of one stream, keeping exactly the limit', async () => {
    const logs = await readDockerLogs(
      chunks(Buffer.concat([frame(2, 'abc'), frame(1, 'defgh'), frame(1, 'never')]), 4),
      4,
    );
    expect([logs.stdout.toString(), logs.stderr.toString(), logs.exceeded]).toEqual(['defg', 'abc', true]);
  });
});
