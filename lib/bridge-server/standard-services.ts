import { join } from 'node:path';
import type { Server, ServerDuplexStream, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';
import { SERVICE_NAME } from '../contract/bridge-connection.js';
import { errorStatus } from '../contract/status-for-error.js';
import { packageRoot } from '../worker/python-environment.js';
import type { TokenCheck } from './token-check.js';

type AnyServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
type Registrar = Pick<Server, 'addService'>;

/** The services health reports on: the server as a whole (""), and BridgeService. */
const HEALTH_SERVICES = ['', SERVICE_NAME] as const;

/** Where `grpc.health.v1`'s .proto lies: `.../proto/health/v1/health.proto` of grpc-health-check. */
const HEALTH_PROTO_ROOT = join(healthProtoPath, '..', '..', '..');

/** Handlers that answer UNAUTHENTICATED, as BridgeService does, to calls without the token. */
function requiringToken(implementation: UntypedServiceImplementation, tokenCheck: TokenCheck): UntypedServiceImplementation {
  const guarded: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    guarded[name] = ((call: AnyServerCall, callback?: (error: unknown) => void) => {
      try {
        tokenCheck.require(call.metadata);
      } catch (error) {
        // Unary handlers answer through their callback; streams end with their 'error' event.
        if (callback !== undefined) callback(errorStatus(error));
        else call.emit('error', errorStatus(error));
        return;
      }
      (handler as (call: AnyServerCall, callback?: (error: unknown) => void) => void)(call, callback);
    }) as typeof handler;
  }
  return guarded;
}

/**
 * The standard services a bridge server serves beside BridgeService, from
 * the official packages: `grpc.health.v1` (grpc-health-check), answered
 * without the token since Kubernetes' probes send none, and server
 * reflection (v1 and v1alpha, @grpc/reflection), which requires it.
 */
export class StandardServices {
  private readonly health = new HealthImplementation();
  /** Open Watch streams: a graceful shutdown waits for every call, so draining ends them. */
  private readonly watches = new Set<ServerWritableStream<unknown, unknown>>();
  private notServing = false;

  constructor(private readonly tokenCheck: TokenCheck | undefined) {
    for (const service of HEALTH_SERVICES) this.health.setStatus(service, 'SERVING');
  }

  addTo(server: Server): void {
    this.health.addToServer({
      addService: (definition, implementation) => server.addService(definition, this.trackingWatches(implementation)),
    });
    const bridgeAndHealth = loadSync(['bridge.proto', 'health/v1/health.proto'], {
      includeDirs: [join(packageRoot, 'proto'), HEALTH_PROTO_ROOT],
    });
    const reflection = new ReflectionService(bridgeAndHealth);
    const { tokenCheck } = this;
    const registrar: Registrar =
      tokenCheck === undefined
        ? server
        : { addService: (definition, implementation) => server.addService(definition, requiringToken(implementation, tokenCheck)) };
    reflection.addToServer(registrar);
  }

  /** Every service reports NOT_SERVING from now on: the server drains, or its pool cannot serve. */
  stopServing(): void {
    if (this.notServing) return;
    this.notServing = true;
    this.setAll('NOT_SERVING');
  }

  /** Reports NOT_SERVING and ends the Watch streams, which would otherwise hold a graceful shutdown until its timeout. */
  drain(): void {
    this.stopServing();
    for (const watch of this.watches) watch.end();
    this.watches.clear();
  }

  private setAll(status: ServingStatus): void {
    for (const service of HEALTH_SERVICES) this.health.setStatus(service, status);
  }

  private trackingWatches(implementation: UntypedServiceImplementation): UntypedServiceImplementation {
    const watch = implementation['watch'] as ((call: ServerWritableStream<unknown, unknown>) => void) | undefined;
    if (watch === undefined) throw new Error('grpc-health-check has no `watch` handler any more: snakepit-rx needs an update');
    return {
      ...implementation,
      watch: (call: ServerWritableStream<unknown, unknown>) => {
        this.watches.add(call);
        call.once('cancelled', () => this.watches.delete(call));
        watch(call);
      },
    };
  }
}
