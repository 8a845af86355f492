/**
 * Pulls (or imports) an image through POST /images/create and follows its progress stream to the end. The engine
 * answers 200 at once and reports a failure later as a line `{"error": ...}` in the stream; dockerode's own
 * followProgress ignores those lines (and throws on a line that is not JSON), so the stream is read here.
 */
import type Docker from 'dockerode';

export interface ImageSource {
  readonly fromImage?: string | undefined;
  readonly fromSrc?: string | undefined;
  readonly repo?: string | undefined;
  readonly tag?: string | undefined;
  readonly platform?: string | undefined;
}

/** Thrown when the progress stream reports an error (the HTTP call itself succeeded). */
export class ImagePullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImagePullError';
  }
}

/** The longest progress line kept while waiting for its end (progress lines are short; this bounds memory). */
const MAX_LINE_CHARS = 64 * 1024;

export async function pullImage(docker: Docker, source: ImageSource, signal: AbortSignal): Promise<void> {
  const query = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const stream = await docker.createImage({ ...query, abortSignal: signal });
  let line = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    line += chunk.toString();
    const lines = line.split('\n');
    line = (lines.pop() ?? '').slice(-MAX_LINE_CHARS);
    for (const text of lines) checkProgressLine(text);
  }
  checkProgressLine(line);
}

function checkProgressLine(text: string): void {
  if (text.trim() === '') return;
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return; // not a progress event; the engine's final word is what matters
  }
  if (event === null || typeof event !== 'object') return;
  const { error, errorDetail } = event as { error?: unknown; errorDetail?: { message?: unknown } };
  if (typeof errorDetail?.message === 'string') throw new ImagePullError(errorDetail.message);
  if (error !== undefined) throw new ImagePullError(typeof error === 'string' ? error : JSON.stringify(error));
}
