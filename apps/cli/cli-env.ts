/**
 * The client's own environment. The CLI is not a server process, so it does not use libs/config (the server's
 * configuration); this module is the one place where it reads process.env.
 */

/** The env variable that carries the auth token when `--auth-token` is not given. */
export const AUTH_TOKEN_ENV = 'JOBWORKERP_AUTH_TOKEN';

/** The auth token from JOBWORKERP_AUTH_TOKEN, or undefined when it is unset or empty. Never print it. */
export function authTokenFromEnv(): string | undefined {
  const token = process.env[AUTH_TOKEN_ENV];
  return token === undefined || token === '' ? undefined : token;
}
