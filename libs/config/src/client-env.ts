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

/** The env variables of the TLS files of `jobworkerp-client` (and the healthcheck), used for https:// addresses. */
export const CLIENT_TLS_ENV = {
  caFile: 'JOBWORKERP_CA_FILE',
  certFile: 'JOBWORKERP_CERT_FILE',
  keyFile: 'JOBWORKERP_KEY_FILE',
} as const;

/**
 * The TLS files from JOBWORKERP_CA_FILE (a PEM CA to trust instead of the system's), JOBWORKERP_CERT_FILE and
 * JOBWORKERP_KEY_FILE (a client certificate and its key, for mutual TLS); unset or empty ones are undefined. They
 * apply to https:// addresses only.
 */
export function clientTlsFilesFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): {
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
} {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    caFile: read(CLIENT_TLS_ENV.caFile),
    certFile: read(CLIENT_TLS_ENV.certFile),
    keyFile: read(CLIENT_TLS_ENV.keyFile),
  };
}
