import type { CliSession } from './cli-session.js';
import { StatusError } from '../../libs/client/src/index.js';

/** Prints `{ id, deleted: true }`, or fails with NOT_FOUND when the server deleted nothing. */
export function expectDeleted(session: CliSession, what: string, id: number, isSuccess: boolean): void {
  if (!isSuccess) throw new StatusError('NOT_FOUND', `${what} ${id} does not exist; nothing was deleted`);
  session.print.one({ id, deleted: true });
}
