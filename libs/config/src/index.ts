export { ConfigError, DEFAULT_CHANNEL, loadConfig } from './config.js';
export type {
  ChannelConfig,
  Config,
  LoadConfigOptions,
  LogLevel,
  MysqlConfig,
  PoulpeConfig,
  PoulpeSmtpConfig,
  StorageMode,
  TlsFiles,
} from './config.js';
export { CLIENT_AUTH_TOKEN_ENV, CLIENT_TLS_ENV, clientAuthTokenFromEnv, clientTlsFilesFromEnv } from './client-env.js';
