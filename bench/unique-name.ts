/** A name no earlier run used: `<base>-<8 hex digits>` (key prefixes, queue and worker names, databases). */
import { randomBytes } from 'node:crypto';

export function uniqueName(base: string): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}
