import { GrpcUnaryRunnerSettings } from '../../proto/src/index.js';
import { isGrpcHost } from './grpc-unary-runner.js';
import { InvalidArgumentError, quote } from '../../core/src/index.js';
import { decodeSettings, requirePort, requireText } from './settings-check.js';

/** GRPC_UNARY: host (a name or address) and port (1..65535) are required. */
export function checkGrpcUnarySettings(settings: Uint8Array): void {
  const { host, port } = decodeSettings('GrpcUnaryRunnerSettings', GrpcUnaryRunnerSettings, settings);
  requireText(host, 'host', 'the gRPC server to call');
  if (!isGrpcHost(host))
    throw new InvalidArgumentError(`runner_settings.host ${quote(host)} is not a host name or address`);
  requirePort(port, 'port', false);
}
