import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBoundedBody } from './bounded-body.js';

const chunks = (...texts: string[]): Uint8Array[] => texts.map((text) => Buffer.from(text));

describe('readBoundedBody', () => {
  it('returns the whole body when it fits, including exactly at the limit', async () => {
    expect(await readBoundedBody(Readable.from(chunks('ab', 'cd')), 10)).toEqual({
      bytes: Buffer.from('abcd'),
      exceeded: false,
    });
    expect(await readBoundedBody(Readable.from(chunks('ab', 'cd')), 4)).toEqual({
      bytes: Buffer.from('abcd'),
      exceeded: false,
    });
    expect(await readBoundedBody(Readable.from([]), 4)).toEqual({ bytes: Buffer.alloc(0), exceeded: false });
  });

  it('keeps the first maxBytes bytes of a longer body and destroys the stream without reading the rest', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1;
        this.push(Buffer.from('0123456789'));
      },
    });
    const body = await readBoundedBody(endless, 25);
    expect(body).toEqual({ bytes: Buffer.from('0123456789012345678901234'), exceeded: true });
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(10);
  });

  it('rejects when the stream fails', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(readBoundedBody(failing, 10)).rejects.toThrow('socket hang up');
  });
});
