/**
 * A task's final result in poulpe's answer shape: `{"result":"OK","reason":""}` on success, `{"result":"Fail",
 * "reason":<why>}` otherwise, plus what poulpe did not give: the task `id`, the result `status`, how many times it
 * was `retried`, and the `output` as text (the HTTP response body, the command's stdout, or the SMTP server's reply).
 */
import type { JobResult } from '../../../../core/src/index.js';
import { clip, ResultStatus } from '../../../../core/src/index.js';
import { HttpRequestResult, MailResult } from '../../../../proto/src/index.js';
import type { PoulpeWorkerKind } from './poulpe-workers.js';

/** The most characters of output (and of a failure's reason) put in an answer. */
export const MAX_OUTPUT_CHARS = 1024 * 1024;

export interface PoulpeResultBody {
  readonly result: 'OK' | 'Fail';
  readonly reason: string;
  readonly id: string;
  readonly status: string;
  readonly retried: number;
  readonly output: string;
}

export function poulpeResult(id: string, result: JobResult, kind: PoulpeWorkerKind | undefined): PoulpeResultBody {
  const status = ResultStatus[result.status] ?? String(result.status);
  if (result.status === ResultStatus.SUCCESS) {
    return {
      result: 'OK',
      reason: '',
      id,
      status,
      retried: result.retried,
      output: outputText(result.output[0], kind),
    };
  }
  // a failure's first item is the message saying what happened; the next one, if any, the runner's own output
  const reason = text(result.output[0]) || `the task ended with ${status}`;
  return {
    result: 'Fail',
    reason: clip(reason, 2000),
    id,
    status,
    retried: result.retried,
    output: outputText(result.output[1], kind),
  };
}

function outputText(item: Uint8Array | undefined, kind: PoulpeWorkerKind | undefined): string {
  if (item === undefined) return '';
  try {
    if (kind === 'http') return clip(HttpRequestResult.decode(item).content, MAX_OUTPUT_CHARS);
    if (kind === 'mail') return clip(MailResult.decode(item).response, MAX_OUTPUT_CHARS);
  } catch {
    // not the runner's result message (a failure's stderr, say): shown as text
  }
  return clip(text(item), MAX_OUTPUT_CHARS);
}

const text = (item: Uint8Array | undefined): string =>
  item === undefined ? '' : Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('utf8');
