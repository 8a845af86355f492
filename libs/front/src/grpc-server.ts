/**
 * The gRPC server of a front: jobworkerp services, server reflection (v1 and v1alpha) and grpc.health.v1 on one port,
 * behind the optional AUTH_TOKEN check.
 *
 * Lifecycle: 'created' → start() → 'running' → stop() → 'stopped'. stop() is idempotent.
 */
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../../core/src/index.js';
import { authInterceptor } from './auth.js';
import { reflectionDescriptors } from './reflection-descriptors.js';
import { withCheckedDecoding } from './request-decoding.js';

export interface ServiceRegistration {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  readonly authToken: string | undefined;
  readonly maxMessageBytes: number;
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
}

export type GrpcServerState = 'created' | 'running' | 'stopping' | 'stopped';

export class GrpcServer {
  private readonly server: Server;
  private readonly health: HealthImplementation;
  private stateValue: GrpcServerState = 'created';
  private stopping: Promise<void> | undefined;
  private boundPort = 0;

  constructor(private readonly options: GrpcServerOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      interceptors: options.authToken === undefined ? [] : [authInterceptor(options.authToken)],
    });
    for (const s of options.services) this.server.addService(withCheckedDecoding(s.definition), s.implementation);

    new ReflectionService(reflectionDescriptors()).addToServer(this.server);

    const statuses: Record<string, 'SERVING'> = { '': 'SERVING' };
    for (const s of options.services) {
      const first = Object.values(s.definition)[0];
      const serviceName = first?.path.split('/')[1];
      if (serviceName !== undefined) statuses[serviceName] = 'SERVING';
    }
    this.health = new HealthImplementation(statuses);
    this.health.addToServer(this.server);
  }

  get state(): GrpcServerState {
    return this.stateValue;
  }

  /** The port the server listens on (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    if (this.stateValue !== 'created') throw new Error(`cannot start a gRPC server that is ${this.stateValue}`);
    const { host, port } = this.options;
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) =>
        err === null ? resolve(bound) : reject(new Error(`cannot listen on ${address}: ${err.message}`)),
      );
    });
    this.stateValue = 'running';
    this.options.logger.info({ address: `${host}:${this.boundPort}` }, 'gRPC server listening');
    return this.boundPort;
  }

  /** Marks every service NOT_SERVING, lets calls in flight finish up to graceMs, then cancels the rest. */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.stateValue = 'stopping';
    this.health.setStatus('', 'NOT_SERVING');
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.stateValue = 'stopped';
  }
}
