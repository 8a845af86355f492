import type { EnqueueRequest, JsonValue } from '../../libs/client/src/index.js';
import { InvalidInputError } from '../../libs/client/src/index.js';
import { parsePriority, parseTime, parseWholeNumber } from './option-parsers.js';

/** The fields of a `job enqueue-stream` line, named as the long options of `job enqueue`. */
const FIELDS = ['worker', 'args', 'uniqueKey', 'runAfterTime', 'priority', 'timeout'] as const;

/**
 * One line of `job enqueue-stream`: a JSON object `{"worker": id|name, "args": {...}, "uniqueKey"?, "priority"?,
 * "runAfterTime"?, "timeout"?}`, with the values `job enqueue` takes (priority high|middle|low, a time as epoch ms or
 * ISO text, a timeout in ms). The args stay a JSON value: the client encodes them with the runner's args schema.
 * Anything else is an InvalidInputError naming the field.
 */
export function parseJobLine(text: string): EnqueueRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`expected a JSON object such as {"worker":"echo","args":{...}}`);
  }
  const line = value as Record<string, unknown>;
  const unknown = Object.keys(line).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(`unknown field ${JSON.stringify(unknown[0])} (fields: ${FIELDS.join(', ')})`);
  }
  const { worker } = line;
  if (!(
    (typeof worker === 'string' && worker.trim() !== '') ||
    (Number.isSafeInteger(worker) && (worker as number) > 0)
  )) {
    throw new InvalidInputError('"worker" must be a worker id or name');
  }
  return {
    worker: worker as string | number,
    args: line['args'] as JsonValue | undefined,
    uniqKey: field(line, 'uniqueKey', (v) => (typeof v === 'string' ? v : fail('a string'))),
    runAfterTime: field(line, 'runAfterTime', (v) =>
      parseTime(typeof v === 'number' || typeof v === 'string' ? String(v) : ''),
    ),
    priority: field(line, 'priority', (v) => parsePriority(typeof v === 'string' ? v : '')),
    timeoutMs: field(line, 'timeout', (v) => parseWholeNumber(typeof v === 'number' ? String(v) : '')),
  };
}

/** A field's value through `parse` (the option parsers of `job enqueue`), or undefined when absent or null. */
function field<T>(line: Record<string, unknown>, name: string, parse: (value: unknown) => T): T | undefined {
  const value = line[name];
  if (value === undefined || value === null) return undefined;
  try {
    return parse(value);
  } catch (err) {
    throw new InvalidInputError(`"${name}": ${(err as Error).message}`, { cause: err });
  }
}

function fail(expected: string): never {
  throw new Error(`expected ${expected}`);
}
