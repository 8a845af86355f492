import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { ActionFactory } from '../action-factory.js';
import { errorReport } from '../error-report.js';
import { parseJobLine } from '../job-line.js';
import { withExamples } from '../with-examples.js';

/** How many lines may wait for their outcome before reading pauses. */
const WINDOW = 1024;
/** How many failed line numbers the final error line lists. */
const LISTED_FAILURES = 10;

/**
 * `job enqueue-stream`: enqueues a job per JSON line of stdin over the client's shared EnqueueStream (DIRECT workers
 * through unary Enqueue), and prints one line per input line, in input order: the job id, or the line's error. Blank
 * lines are skipped. Exits 1 when any line failed, naming them on stderr.
 */
export function addEnqueueStreamCommand(job: Command, action: ActionFactory, input: () => NodeJS.ReadableStream): void {
  const cmd = job
    .command('enqueue-stream')
    .description(
      'enqueue a job per JSON line of stdin, over one stream; prints a job id or an error per line, in order',
    );
  cmd.addHelpText(
    'after',
    '\nEach line: {"worker": id|name, "args": {...}, "uniqueKey"?, "runAfterTime"?, "priority"?, "timeout"?}\n' +
      'with the values of job enqueue (priority high|middle|low, runAfterTime epoch ms or ISO time, timeout ms),\n' +
      'for example: {"worker":"echo","args":{"args":["hello"]},"priority":"high"}',
  );
  withExamples(
    cmd.action(
      action(async (s) => {
        let total = 0;
        const failed: number[] = [];
        let waiting = 0;
        let printed: Promise<void> = Promise.resolve();
        const lines = createInterface({ input: input(), crlfDelay: Number.POSITIVE_INFINITY });
        for await (const text of lines) {
          const line = ++total;
          if (text.trim() === '') continue;
          // never rejects: a failure is the line's output
          const outcome = (async () => s.client.jobs.enqueue(parseJobLine(text)))().then(
            ({ jobId }) =>
              () =>
                s.print.line({ line, job_id: jobId, error: null }, `line ${line}: job_id ${jobId}`),
            (err: unknown) => () => {
              failed.push(line);
              const report = errorReport(err, s.signal.aborted).line ?? 'error';
              const error = report.replace(/^error: /, '');
              s.print.line({ line, job_id: null, error }, `line ${line}: ${report}`);
            },
          );
          waiting++;
          printed = printed.then(async () => {
            (await outcome)();
            waiting--;
          });
          if (waiting >= WINDOW) await printed;
        }
        await printed;
        if (failed.length > 0) {
          const listed = failed.slice(0, LISTED_FAILURES).join(', ') + (failed.length > LISTED_FAILURES ? ', ...' : '');
          throw new Error(`${failed.length} of ${total} lines were not enqueued (lines ${listed})`);
        }
      }),
    ),
    'jobworkerp-client job enqueue-stream < jobs.jsonl',
    'jobworkerp-client --format json job enqueue-stream < jobs.jsonl > outcomes.jsonl',
  );
}
