/**
 * AUTH_TOKEN on the poulpe API: the same token as the gRPC port, in the `jobworkerp-auth` header or as
 * `Authorization: Bearer <token>`. Digests are compared in constant time; the token is never echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AUTH_METADATA_KEY } from '../../auth.js';
import { HttpError } from '../http-listener.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Throws 401 with a message unless the request carries `token` (no check when token is undefined). */
export function checkBearerToken(req: IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const header = req.headers[AUTH_METADATA_KEY];
  const authorization = req.headers.authorization;
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  const given = typeof header === 'string' ? header.trim() : bearer;
  const challenge = { 'WWW-Authenticate': 'Bearer realm="jobworkerp"' };
  if (given === undefined) {
    throw new HttpError(
      401,
      `no token: send the server's AUTH_TOKEN in the "${AUTH_METADATA_KEY}" header or as "Authorization: Bearer <token>"`,
      challenge,
    );
  }
  if (!timingSafeEqual(digest(given), digest(token))) {
    throw new HttpError(401, "the token does not match the server's AUTH_TOKEN", challenge);
  }
}
