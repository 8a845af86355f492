import { timingSafeEqual } from 'node:crypto';
import type { ServerInterceptor } from '@grpc/grpc-js';
import { ServerInterceptingCall, ServerListenerBuilder, status } from '@grpc/grpc-js';

/** The metadata key that carries the token. */
export const AUTH_METADATA_KEY = 'jobworkerp-auth';

/** Methods that never need the token: health checks, so load balancers and orchestrators can probe. */
const EXEMPT_PREFIX = '/grpc.health.v1.Health/';

/**
 * Rejects every call without metadata `jobworkerp-auth: <token>` with UNAUTHENTICATED (health checks exempt).
 * The token is compared in constant time and never echoed.
 */
export function authInterceptor(token: string): ServerInterceptor {
  const expected = Buffer.from(token, 'utf8');
  const matches = (given: string): boolean => {
    const g = Buffer.from(given, 'utf8');
    return g.length === expected.length && timingSafeEqual(g, expected);
  };
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
