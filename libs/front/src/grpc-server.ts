/**
 * The gRPC server of a front: jobworkerp services, server reflection (v1 and v1alpha) and grpc.health.v1 on one port,
 * behind the optional AUTH_TOKEN check.
 *
 * Connection limits (see GrpcServerOptions): keepalive pings close connections whose peer is gone; connections
 * without a call for a while are closed (also sockets that never speak HTTP/2); old connections are asked to go away
 * (calls in flight go on, up to a grace period); calls in flight per connection are capped; and the port itself holds
 * at most `maxConnections` sockets: it is our own net.Server, whose sockets are handed to grpc-js.
 *
 * A private loopback channel (openLoopback) serves the same services, with the same auth, checks and error mapping,
 * to this process itself: the gRPC-Web/JSON gateway forwards its calls through it. It is plain text even when the
 * port speaks TLS: its unix socket sits in a folder only this user can enter.
 *
 * TLS (`tls`): the same sockets are handed to a grpc-js TLS server instead, so the limits above hold over TLS too;
 * with a client CA, clients must present a certificate it signed (mutual TLS). Health and reflection are served on
 * the same port, over TLS like the rest.
 *
 * Lifecycle: 'created' → start() → 'running' → stop() → 'stopped'. stop() is idempotent.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server as NetServer } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../../core/src/index.js';
import { authInterceptor } from './auth.js';
import type { TlsMaterial } from './http/http-listener.js';
import { withPreEncodedReplies } from './pre-encoded-reply.js';
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
  // connection limits, in ms where timed, 0 = off (each is the Config field of the same name: see libs/config)
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly maxConnectionIdleMs: number;
  readonly maxConnectionAgeMs: number;
  /** 0 = calls in flight on a connection past its age go on as long as they last */
  readonly maxConnectionAgeGraceMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS */
  readonly maxConcurrentStreams: number;
  /** sockets open on the port at once; more are closed as they arrive */
  readonly maxConnections: number;
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
  /** serve gRPC over TLS with this material; plain text when absent */
  readonly tls?: TlsMaterial;
}

/** grpc-js's value for "no limit" in its timer options (the largest delay a Node timer takes). */
const GRPC_UNLIMITED_MS = 2 ** 31 - 1;
const orUnlimited = (ms: number): number => (ms === 0 ? GRPC_UNLIMITED_MS : ms);
/** refused connections are logged at most this often */
const DROP_LOG_EVERY_MS = 10_000;

export type GrpcServerState = 'created' | 'running' | 'stopping' | 'stopped';

export class GrpcServer {
  private readonly server: Server;
  private readonly health: HealthImplementation;
  private readonly healthNames: readonly string[];
  /** the services set NOT_SERVING through setServing */
  private readonly notServing = new Set<string>();
  private listener: NetServer | undefined;
  /** feeds the loopback channel's connections to grpc-js, in plain text (see openLoopback) */
  private injector: ReturnType<Server['createConnectionInjector']> | undefined;
  private loopback: Promise<{ readonly server: NetServer; readonly dir: string; readonly target: string }> | undefined;
  private stateValue: GrpcServerState = 'created';
  private stopping: Promise<void> | undefined;
  private boundPort = 0;

  constructor(private readonly options: GrpcServerOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      'grpc.keepalive_time_ms': orUnlimited(options.keepaliveTimeMs),
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
      'grpc.max_connection_idle_ms': orUnlimited(options.maxConnectionIdleMs),
      'grpc.max_connection_age_ms': orUnlimited(options.maxConnectionAgeMs),
      'grpc.max_connection_age_grace_ms': orUnlimited(options.maxConnectionAgeGraceMs),
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
      interceptors: options.authToken === undefined ? [] : [authInterceptor(options.authToken)],
    });
    for (const s of options.services) {
      this.server.addService(withPreEncodedReplies(withCheckedDecoding(s.definition)), s.implementation);
    }

    new ReflectionService(reflectionDescriptors()).addToServer(this.server);

    const statuses: Record<string, 'SERVING'> = { '': 'SERVING' };
    for (const s of options.services) {
      const first = Object.values(s.definition)[0];
      const serviceName = first?.path.split('/')[1];
      if (serviceName !== undefined) statuses[serviceName] = 'SERVING';
    }
    this.healthNames = Object.keys(statuses).filter((name) => name !== '');
    this.health = new HealthImplementation(statuses);
    this.health.addToServer(this.server);
  }

  get state(): GrpcServerState {
    return this.stateValue;
  }

  /** The full names of the services offered (`jobworkerp.service.JobService`...), as grpc.health.v1 knows them. */
  get serviceNames(): readonly string[] {
    return this.healthNames;
  }

  /**
   * Sets the grpc.health.v1 status of one service, or of the whole server with '' (Watch calls get the change).
   * Ignored once the server is stopping: from then on every service stays NOT_SERVING.
   */
  setServing(service: string, serving: boolean): void {
    if (this.stateValue === 'stopping' || this.stateValue === 'stopped') return;
    // Watch streams get every setStatus call: only changes go out
    if (serving === !this.notServing.has(service)) return;
    if (serving) this.notServing.delete(service);
    else this.notServing.add(service);
    this.health.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
  }

  /** The port the server listens on (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    if (this.stateValue !== 'created') throw new Error(`cannot start a gRPC server that is ${this.stateValue}`);
    const { host, port } = this.options;
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const { tls } = this.options;
    const credentials =
      tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(
            tls.clientCa ?? null,
            [{ private_key: tls.key, cert_chain: tls.cert }],
            tls.clientCa !== undefined,
          );
    const injector = this.server.createConnectionInjector(credentials);
    this.injector = this.server.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = createServer((socket) => injector.injectConnection(socket));
    listener.maxConnections = this.options.maxConnections;
    let dropped = 0;
    let lastDropLog = -Infinity;
    listener.on('drop', () => {
      dropped += 1;
      if (performance.now() - lastDropLog < DROP_LOG_EVERY_MS) return;
      lastDropLog = performance.now();
      this.options.logger.warn(
        { maxConnections: this.options.maxConnections, refused: dropped },
        'refused connections: the gRPC port holds GRPC_MAX_CONNECTIONS connections already',
      );
      dropped = 0;
    });
    this.boundPort = await new Promise<number>((resolve, reject) => {
      const failed = (err: Error): void => reject(new Error(`cannot listen on ${address}: ${err.message}`));
      listener.once('error', failed);
      listener.listen({ host, port }, () => {
        listener.off('error', failed);
        const bound = listener.address();
        resolve(typeof bound === 'object' && bound !== null ? bound.port : port);
      });
    });
    listener.on('error', (err) => this.options.logger.error({ err }, 'the gRPC listener failed'));
    this.listener = listener;
    if (this.options.maxConnectionAgeMs > 0 && this.options.keepaliveTimeMs > 0) {
      this.options.logger.warn(
        { maxConnectionAgeMs: this.options.maxConnectionAgeMs, keepaliveTimeMs: this.options.keepaliveTimeMs },
        'with both GRPC_MAX_CONNECTION_AGE_MS and GRPC_KEEPALIVE_TIME_MS set, a connection past its age is closed at ' +
          'its next keepalive ping, cutting calls in flight (long Listen or DIRECT calls); set one of them to 0',
      );
    }
    this.stateValue = 'running';
    this.options.logger.info(
      { address: `${host}:${this.boundPort}`, tls: tls === undefined ? 'off' : tls.clientCa ? 'mutual' : 'on' },
      'gRPC server listening',
    );
    return this.boundPort;
  }

  /**
   * A grpc-js target (`unix:/path`) served like the port — same services, auth, request checks, error mapping and
   * call metrics — for this process alone: a unix socket in a new temporary folder only this user can enter.
   * Opened on the first call (the server must be running); closed and removed by stop().
   */
  openLoopback(): Promise<string> {
    if (this.stateValue !== 'running') {
      return Promise.reject(new Error(`cannot open a loopback channel on a gRPC server that is ${this.stateValue}`));
    }
    this.loopback ??= this.listenLoopback();
    return this.loopback.then((l) => l.target);
  }

  private async listenLoopback(): Promise<{ server: NetServer; dir: string; target: string }> {
    const injector = this.injector;
    if (injector === undefined) throw new Error('the gRPC server has no connection injector');
    // mkdtemp makes the folder 0700: no other user can reach the socket
    const dir = await mkdtemp(join(tmpdir(), 'jobworkerp-grpc-'));
    const path = join(dir, 'grpc.sock');
    const server = createServer((socket) => injector.injectConnection(socket));
    // the gateway opens one channel; reconnects after idle or age closes are the rest
    server.maxConnections = 64;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    server.on('error', (err) => this.options.logger.error({ err }, 'the gRPC loopback listener failed'));
    return { server, dir, target: `unix:${path}` };
  }

  /** Marks every service NOT_SERVING, lets calls in flight finish up to graceMs, then cancels the rest. */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.stateValue = 'stopping';
    for (const name of ['', ...this.healthNames]) this.health.setStatus(name, 'NOT_SERVING');
    // no new connections; the open ones are closed below
    this.listener?.close();
    const loopback = await this.loopback?.catch(() => undefined);
    loopback?.server.close();
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
    if (loopback !== undefined) await rm(loopback.dir, { recursive: true, force: true });
    this.stateValue = 'stopped';
  }
}
