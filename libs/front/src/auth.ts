import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerInterceptor } from '@grpc/grpc-js';
import { ServerInterceptingCall, ServerListenerBuilder, status } from '@grpc/grpc-js';

/** The metadata key that carries the token. */
export const AUTH_METADATA_KEY = 'jobworkerp-auth';

/** Methods that never need the token: health checks, so load balancers and orchestrators can probe. */
const EXEMPT_PREFIX = '/grpc.health.v1.Health/';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Rejects every call without metadata `jobworkerp-auth: <token>` with UNAUTHENTICATED (health checks exempt).
 * The SHA-256 digests of the given and the expected token are compared in constant time, so neither the content
 * nor the length of the token shows in the time a rejection takes. The token is never echoed.
 */
export function authInterceptor(token: string): ServerInterceptor {
  if (token.trim() === '') throw new RangeError('the auth token must not be empty or only spaces');
  const expected = digest(token);
  const matches = (given: string): boolean => timingSafeEqual(digest(given), expected);
  return (method, call) => {
    if (method.path.startsWith(EXEMPT_PREFIX)) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) => {
        const listener = new ServerListenerBuilder()
          .withOnReceiveMetadata((metadata, nextMetadata) => {
            const given = metadata.get(AUTH_METADATA_KEY)[0];
            if (typeof given === 'string' && matches(given)) {
              nextMetadata(metadata);
            } else {
              call.sendStatus({
                code: status.UNAUTHENTICATED,
                details:
                  given === undefined
                    ? `missing metadata "${AUTH_METADATA_KEY}"; send the server's AUTH_TOKEN in it`
                    : `metadata "${AUTH_METADATA_KEY}" does not match the server's AUTH_TOKEN`,
              });
            }
          })
          .build();
        next(listener);
      },
    });
  };
}
