/** The client's own environment, read through libs/config (the one place that reads the environment). */
export {
  CLIENT_AUTH_TOKEN_ENV as AUTH_TOKEN_ENV,
  clientAuthTokenFromEnv as authTokenFromEnv,
  CLIENT_TLS_ENV as TLS_ENV,
  clientTlsFilesFromEnv as tlsFilesFromEnv,
} from '../../libs/config/src/index.js';
