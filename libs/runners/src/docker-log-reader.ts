/**
 * Reads the log stream of a container created without a TTY: the Docker Engine multiplexes stdout and stderr into
 * frames of an 8-byte header (byte 0: 1 = stdout, 2 = stderr; bytes 4-7: payload size, big-endian) and the payload.
 */

export interface DockerLogs {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** true when stdout or stderr passed `maxBytes`: reading stopped there (the stream was destroyed) */
  readonly exceeded: boolean;
}

const HEADER_BYTES = 8;
const STDERR = 2;

/** Reads frames until the stream ends, keeping at most `maxBytes` of each of stdout and stderr. */
export async function readDockerLogs(
  stream: AsyncIterable<Uint8Array | string>,
  maxBytes: number,
): Promise<DockerLogs> {
  const out = new BoundedBuffer(maxBytes);
  const err = new BoundedBuffer(maxBytes);
  let header = Buffer.alloc(0);
  /** payload bytes of the current frame still to come, and where they go */
  let remaining = 0;
  let target = out;
  for await (const chunk of stream) {
    let rest =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (rest.length > 0) {
      if (remaining === 0) {
        const taken = rest.subarray(0, HEADER_BYTES - header.length);
        header = Buffer.concat([header, taken]);
        rest = rest.subarray(taken.length);
        if (header.length < HEADER_BYTES) break;
        target = header[0] === STDERR ? err : out;
        remaining = header.readUInt32BE(4);
        header = Buffer.alloc(0);
        continue;
      }
      const piece = rest.subarray(0, remaining);
      target.add(piece);
      remaining -= piece.length;
      rest = rest.subarray(piece.length);
      // leaving the loop destroys the stream: the rest is not downloaded
      if (target.exceeded) return { stdout: out.bytes(), stderr: err.bytes(), exceeded: true };
    }
  }
  return { stdout: out.bytes(), stderr: err.bytes(), exceeded: false };
}

class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  exceeded = false;

  constructor(private readonly maxBytes: number) {}

  add(chunk: Buffer): void {
    const room = this.maxBytes - this.size;
    if (chunk.length > room) this.exceeded = true;
    const kept = chunk.subarray(0, Math.max(0, room));
    this.chunks.push(kept);
    this.size += kept.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}
