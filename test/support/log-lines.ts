/**
 * Reads what our processes log, in either format: JSON lines (LOG_USE_JSON=true, the default; the text is the `msg`
 * field) or plain lines (LOG_USE_JSON=false: `time LEVEL message key=value ...`; the text is the whole line). A line
 * that is not a log line (another program's output) is read as plain text. Only complete lines are read, so a line
 * still arriving is not matched half-way.
 *
 * The start lines ("listening on HOST:PORT", "worker started", "health endpoint at URL", "metrics endpoint at URL")
 * are info lines on stdout: a process read this way runs with LOG_LEVEL info (or lower) and LOG_USE_STDOUT=true.
 */

export interface LogLine {
  /** the message of a JSON line; the whole line otherwise */
  readonly text: string;
  /** the fields of a JSON line; undefined for a plain line */
  readonly record: Readonly<Record<string, unknown>> | undefined;
}

export function logLines(output: string): LogLine[] {
  const end = output.lastIndexOf('\n');
  if (end < 0) return [];
  return output
    .slice(0, end)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(readLine);
}

function readLine(line: string): LogLine {
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as unknown;
      if (typeof record === 'object' && record !== null && typeof (record as { msg?: unknown }).msg === 'string') {
        const fields = record as Record<string, unknown>;
        return { text: fields['msg'] as string, record: fields };
      }
    } catch {
      // not JSON after all: plain text
    }
  }
  return { text: line, record: undefined };
}

/** The match of `pattern` in the first line whose text it matches; undefined when none does. */
export function findLogLine(output: string, pattern: RegExp): RegExpExecArray | undefined {
  for (const line of logLines(output)) {
    const match = pattern.exec(line.text);
    if (match !== null) return match;
  }
  return undefined;
}

/** The JSON records among the lines (LOG_USE_JSON=true). */
export function logRecords(output: string): Readonly<Record<string, unknown>>[] {
  return logLines(output).flatMap((line) => (line.record === undefined ? [] : [line.record]));
}
