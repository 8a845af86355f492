import type { Config } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';

/**
 * The settings this version accepts but does not act on yet, each with what happens instead. Every app logs one
 * warning per setting in use when it starts, so nothing set by the user is ignored silently.
 */
export function unimplementedSettings(config: Config): { variable: string; effect: string }[] {
  const found: { variable: string; effect: string }[] = [];
  if (config.grpc.useGrpcWeb) {
    found.push({
      variable: 'USE_GRPC_WEB',
      effect: 'gRPC-Web is not implemented yet; the server answers plain gRPC (HTTP/2) only',
    });
  }
  return found;
}

/** Logs one warning per setting of {@link unimplementedSettings} in use. */
export function warnUnimplementedSettings(config: Config, logger: Logger): void {
  for (const { variable, effect } of unimplementedSettings(config)) {
    logger.warn({ variable }, `${variable} is set but not implemented: ${effect}`);
  }
}
