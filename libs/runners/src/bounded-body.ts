/** A response body read up to a byte limit. */
export interface BoundedBody {
  /** the body, or its first `maxBytes` bytes when it was longer */
  readonly bytes: Buffer;
  /** true when the body was longer than `maxBytes`; reading stopped there and the stream was destroyed */
  readonly exceeded: boolean;
}

/**
 * Reads a streamed body (an undici response body, any async iterable of chunks) keeping at most `maxBytes` bytes.
 * It stops at the first byte past the limit: leaving the loop early destroys a Node stream, which frees the
 * connection instead of downloading the rest. Stream errors (an abort, a reset) reject.
 */
export async function readBoundedBody(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<BoundedBody> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.byteLength > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - size));
      return { bytes: Buffer.concat(chunks, maxBytes), exceeded: true };
    }
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  return { bytes: Buffer.concat(chunks, size), exceeded: false };
}
