import type { Config } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';
import type { GrpcServer, GrpcWebGateway, TlsMaterial } from '../../libs/front/src/index.js';

/**
 * With USE_GRPC_WEB=true, the gRPC-Web/JSON gateway on HTTP_ADDR, forwarding to `server` (which must be running);
 * undefined otherwise. Logs its URL next to the other start lines.
 */
export async function startGrpcWeb(
  config: Config,
  server: GrpcServer,
  logger: Logger,
  tls?: TlsMaterial,
): Promise<GrpcWebGateway | undefined> {
  const addr = config.http.addr;
  // the config refuses USE_GRPC_WEB=true without HTTP_ADDR
  if (!config.grpc.useGrpcWeb || addr === undefined) return undefined;
  let gateway: GrpcWebGateway;
  try {
    // loaded only here, so processes without USE_GRPC_WEB never load Connect
    const { startGrpcWebGateway } = await import('../../libs/front/src/http/grpc-web-gateway.js');
    gateway = await startGrpcWebGateway({
      target: await server.openLoopback(),
      host: addr.host,
      port: addr.port,
      ...(tls === undefined ? {} : { tls }),
      corsOrigins: config.http.corsOrigins,
      maxBodyBytes: config.http.maxBodyBytes,
      maxMessageBytes: config.grpc.maxMessageBytes,
      logger,
    });
  } catch (err) {
    // the process exits: its loopback socket folder goes with the server
    await server.stop(0);
    throw err;
  }
  logger.info({ url: gateway.url }, `jobworkerp gRPC-Web/JSON listening on ${gateway.url}`);
  return gateway;
}
