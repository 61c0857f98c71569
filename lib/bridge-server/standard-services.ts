import { join } from 'node:path';
import {
  status,
  type sendUnaryData,
  type Server,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';
import { quoteInput } from '../quoted-input.js';
import { SERVICE_NAME } from '../contract/bridge-connection.js';
import { errorStatus } from '../contract/status-for-error.js';
import { packageRoot } from '../worker/python-environment.js';
import type { TokenCheck } from './token-check.js';

type AnyServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
type Registrar = Pick<Server, 'addService'>;

/** The services health reports on: the server as a whole (""), and BridgeService. */
const HEALTH_SERVICES = ['', SERVICE_NAME] as const;

interface HealthRequest {
  readonly service: string;
}
type HealthCall = ServerWritableStream<HealthRequest, unknown>;
type HealthCheck = (call: ServerUnaryCall<HealthRequest, unknown>, callback: sendUnaryData<unknown>) => void;

function isKnown(request: HealthRequest): boolean {
  return (HEALTH_SERVICES as readonly string[]).includes(request.service);
}

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
      addService: (definition, implementation) => server.addService(definition, this.guardingHealth(implementation)),
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

  /**
   * The package's handlers, but for services it does not know, which are answered here: its Check echoes the
   * name whole in the status (a name of megabytes left a client waiting for trailers it never got), and its
   * Watch keeps a watcher under the name. Any client may ask, without the token.
   */
  private guardingHealth(implementation: UntypedServiceImplementation): UntypedServiceImplementation {
    const check = implementation['check'] as HealthCheck | undefined;
    const watch = implementation['watch'] as ((call: HealthCall) => void) | undefined;
    if (check === undefined || watch === undefined) {
      throw new Error('grpc-health-check has no `check` or `watch` handler any more: snakepit-rx needs an update');
    }
    return {
      ...implementation,
      check: (call: ServerUnaryCall<HealthRequest, unknown>, callback: sendUnaryData<unknown>) => {
        if (isKnown(call.request)) check(call, callback);
        else callback({ code: status.NOT_FOUND, details: `no health status for the service ${quoteInput(call.request.service)}` });
      },
      watch: (call: HealthCall) => {
        this.watches.add(call);
        call.once('cancelled', () => this.watches.delete(call));
        // As the protocol says of a service the server does not know: SERVICE_UNKNOWN, and the call stays open.
        if (isKnown(call.request)) watch(call);
        else call.write({ status: 'SERVICE_UNKNOWN' });
      },
    };
  }
}
