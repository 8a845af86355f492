/**
 * The task JSON of the poulpe API (POST /task_in_queue), checked field by field. Every problem is a 400 naming the
 * field and what to send instead; nothing a client sends can throw anything else.
 *
 * Fields (all required but `wait`, as in poulpe):
 * - `id`: string, 1 to 255 characters: the job's uniq_key (one unfinished task per id);
 * - `method`: `GET`, `POST`, `EXEC` or `MAIL_TO`;
 * - `delay`: whole seconds from 0 to one year: the task runs that long after it is accepted;
 * - `name`: the URL (GET, POST), the executable (EXEC), or anything (MAIL_TO, ignored);
 * - `params`: string: the query string (GET), the body (POST), the arguments split on whitespace (EXEC), or the mail
 *   as JSON `{from_addr, to_addr, title, body}` (MAIL_TO);
 * - `cc`: string of thread numbers separated by spaces or commas (`""` = none); only whether it is empty matters;
 * - `wait`: optional whole seconds: answer with the task's final result, waiting at most this long (0 = do not wait).
 */
import { clip, MAX_UNIQ_KEY_CHARS, quote } from '../../../../core/src/index.js';
import { HttpError } from '../http-listener.js';

export const POULPE_METHODS = ['GET', 'POST', 'EXEC', 'MAIL_TO'] as const;
export type PoulpeMethod = (typeof POULPE_METHODS)[number];

/** The longest `delay`: one year of seconds. */
export const MAX_DELAY_SECONDS = 366 * 24 * 3600;

export interface PoulpeTask {
  readonly id: string;
  readonly method: PoulpeMethod;
  readonly delaySeconds: number;
  readonly name: string;
  readonly params: string;
  /** the thread numbers of `cc`, checked; empty when the task is not pinned */
  readonly cc: readonly number[];
  /** 0 = answer at once */
  readonly waitSeconds: number;
}

/** The MAIL_TO params, checked. */
export interface PoulpeMail {
  readonly from: string | undefined;
  readonly to: readonly string[];
  readonly title: string;
  readonly body: string;
}

const bad = (message: string): HttpError => new HttpError(400, message);

/** The task in a parsed request body; 400 with a message naming the field for anything else. */
export function parseTask(body: unknown, maxWaitSeconds: number): PoulpeTask {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw bad('the task must be a JSON object with id, method, delay, name, params and cc');
  }
  const fields = body as Record<string, unknown>;
  const id = requiredString(fields, 'id');
  if (id === '') throw bad('"id" must not be empty');
  if (id.length > MAX_UNIQ_KEY_CHARS) throw bad(`"id" must be at most ${MAX_UNIQ_KEY_CHARS} characters`);
  const method = requiredString(fields, 'method');
  if (!(POULPE_METHODS as readonly string[]).includes(method)) {
    throw bad(`"method" ${quote(method, 40)} is unknown; use ${POULPE_METHODS.join(', ')}`);
  }
  const delaySeconds = wholeSeconds(fields, 'delay', MAX_DELAY_SECONDS, true);
  const name = requiredString(fields, 'name');
  const params = requiredString(fields, 'params');
  const cc = parseCc(requiredString(fields, 'cc'));
  const waitSeconds =
    fields['wait'] === undefined || fields['wait'] === null ? 0 : wholeSeconds(fields, 'wait', maxWaitSeconds, false);
  return { id, method: method as PoulpeMethod, delaySeconds, name, params, cc, waitSeconds };
}

function requiredString(fields: Record<string, unknown>, field: string): string {
  const value = fields[field];
  if (value === undefined) throw bad(`"${field}" is missing; the task needs id, method, delay, name, params and cc`);
  if (typeof value !== 'string') throw bad(`"${field}" must be a string, not ${typeName(value)}`);
  return value;
}

function wholeSeconds(fields: Record<string, unknown>, field: string, max: number, required: boolean): number {
  const value = fields[field];
  if (value === undefined && required) {
    throw bad(`"${field}" is missing; the task needs id, method, delay, name, params and cc`);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    const got = typeof value === 'number' ? String(value) : typeName(value);
    throw bad(`"${field}" must be whole seconds from 0 to ${max}, not ${clip(got, 40)}`);
  }
  return value;
}

/** poulpe's `cc`: thread numbers separated by spaces (or commas, as its README said); anything else is refused. */
export function parseCc(cc: string): number[] {
  const parts = cc.split(/[\s,]+/).filter((p) => p !== '');
  return parts.map((part) => {
    if (!/^\d{1,9}$/.test(part)) {
      throw bad(`"cc" must list thread numbers (0, 1, ...) separated by spaces; ${quote(part, 40)} is not one`);
    }
    return Number(part);
  });
}

/** MAIL_TO params: JSON `{from_addr, to_addr, title, body}`; to_addr may list several addresses with commas. */
export function parseMail(params: string): PoulpeMail {
  let value: unknown;
  try {
    value = JSON.parse(params);
  } catch {
    throw bad('MAIL_TO "params" must be JSON: {"from_addr":..., "to_addr":..., "title":..., "body":...}');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad('MAIL_TO "params" must be a JSON object: {"from_addr":..., "to_addr":..., "title":..., "body":...}');
  }
  const fields = value as Record<string, unknown>;
  const text = (field: string, required: boolean): string | undefined => {
    const v = fields[field];
    if (v === undefined || v === null) {
      if (required) throw bad(`MAIL_TO "params" needs "${field}"`);
      return undefined;
    }
    if (typeof v !== 'string') throw bad(`MAIL_TO "params"."${field}" must be a string, not ${typeName(v)}`);
    return v;
  };
  const from = text('from_addr', false)?.trim();
  const to = (text('to_addr', true) ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (to.length === 0) throw bad('MAIL_TO "params"."to_addr" must name at least one address');
  for (const address of [...to, ...(from === undefined || from === '' ? [] : [from])]) {
    if (!/^[^\s@<>,]+@[^\s@<>,]+$/.test(address))
      throw bad(`MAIL_TO address ${quote(address, 80)} is not a mail address`);
  }
  return {
    from: from === '' ? undefined : from,
    to,
    title: text('title', false) ?? '',
    body: text('body', false) ?? '',
  };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
