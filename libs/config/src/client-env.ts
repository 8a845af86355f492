/**
 * The command-line client's own environment (it does not load the server's Config). Kept here so that libs/config
 * stays the one reader of process.env.
 */

/** The env variable that carries the auth token when `--auth-token` is not given. */
export const CLIENT_AUTH_TOKEN_ENV = 'JOBWORKERP_AUTH_TOKEN';

/** The auth token from JOBWORKERP_AUTH_TOKEN, or undefined when it is unset or empty. Never print it. */
export function clientAuthTokenFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const token = env[CLIENT_AUTH_TOKEN_ENV];
  return token === undefined || token === '' ? undefined : token;
}
