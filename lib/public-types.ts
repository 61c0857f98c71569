/**
 * The public types of the Node API, in one place: options, what the pool
 * reports, what the bridge server returns. `lib/index.ts` re-exports them;
 * the implementation files import them from here. Types only: this module
 * imports nothing but the browser-safe values' types.
 */
import type { Chunk } from './chunk.js';
import type { SnakepitError, SnakepitErrorCode } from './errors.js';

export type { ToolArguments } from './typed-tools.js';

/** Options of one call (`stream`, `executeStream`, `iterate`, `execute`). */
export interface CallOptions {
  /** Milliseconds from subscription (or the `execute` call) to the end of the call, queueing included. Default 300000. */
  readonly timeout?: number;
  /** Calls with the same session prefer the worker that served the session before. */
  readonly sessionId?: string;
  /** `strict`: a session's calls wait for its worker even when others are idle. Default: the pool's `sessionAffinity`. */
  readonly sessionAffinity?: 'prefer' | 'strict';
  /** Aborting cancels the call: the Python generator is closed and the call fails with `cancelled`. */
  readonly signal?: AbortSignal;
}

/** What a host tool is given besides its arguments. */
export interface HostToolContext {
  /** The `sessionId` of the call whose tool asked; undefined when the call has none. */
  readonly sessionId: string | undefined;
  /** The pool's id of the call whose tool asked (as in its `call_*` events). */
  readonly callId: string;
  /** Aborted when that call ends first: it was cancelled, timed out or failed, or its tool stopped waiting. */
  readonly signal: AbortSignal;
}

/**
 * A Node function that Python tools may call (`createPool({ hostTools })`):
 * `ctx.call_host_tool(name, **kwargs)` in Python, or Snakepit's
 * `ctx.call_elixir_tool`. It receives the keyword arguments as a JSON
 * object and returns a JSON value, or a promise of one; what it throws
 * reaches Python as a `HostToolError` carrying its message.
 */
export type HostTool = (args: Record<string, unknown>, context: HostToolContext) => unknown;

/** Called for each chunk; when it returns a promise, the next chunk waits for it to settle. */
export type ChunkCallback<T> = (chunk: Chunk<T>) => unknown;

/** One parameter of a tool, from its Python signature. */
export interface ToolParameter {
  /** The keyword the tool takes it by. */
  readonly name: string;
  /** The Python annotation's name, or `any`. */
  readonly type: string;
  /** False when the signature gives it a default. */
  readonly required: boolean;
  /** The default value, when it is JSON. */
  readonly default?: unknown;
}

/**
 * A JSON Schema (draft 2020-12), as an object. Binary values carry the
 * keyword `x-snakepit-type`: `"bytes"` (a `Uint8Array`) or `"ndarray"` (an
 * `NdArray`, with `x-snakepit-dtype` when the annotation names its dtype).
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A tool of the adapter, as `pool.tools()` lists it. */
export interface ToolInfo {
  /** The method's name: what `stream`, `execute` and the others take. */
  readonly name: string;
  /** From `@tool(description=...)`, else the method's docstring. */
  readonly description: string;
  /** True for generators marked `supports_streaming=True`: call them with `stream`, `executeStream` or `iterate`. */
  readonly supportsStreaming: boolean;
  /** Its keyword parameters, in signature order. */
  readonly parameters: readonly ToolParameter[];
  /**
   * JSON Schema of its keyword arguments, derived from the Python annotations;
   * the worker validates every call's arguments against it. `{}` when the
   * worker did not describe its tools.
   */
  readonly parametersSchema: JsonSchema;
  /** JSON Schema of what it returns or, for a streaming tool, of each chunk's data. `{}`: any value. */
  readonly resultSchema: JsonSchema;
}

/** How `pool.close()` treats the calls still running. */
export interface CloseOptions {
  /**
   * Let running calls finish (up to `drainTimeout`) instead of failing them
   * with `pool_closed` at once. Calls still waiting for a worker fail either way.
   */
  readonly drain?: boolean;
  /** With `drain`, how long running calls get to finish, in ms. Default 30000. */
  readonly drainTimeout?: number;
  /** How long workers get to stop before they are killed, in ms. Default 2000. */
  readonly gracePeriod?: number;
}

/** Options of `createPool`. Durations are in milliseconds. */
export interface PoolOptions {
  /** The adapter class, as `module.Class` or `module:Class`. */
  readonly adapter: string;
  /** Number of worker processes. Default: the number of CPUs. Not with `discover`, whose endpoints say what they serve. */
  readonly size?: number;
  /** Directories added to the workers' PYTHONPATH, where the adapter's module lives. */
  readonly pythonPath?: string | readonly string[];
  /** The Python interpreter. Default: `$SNAKEPIT_PYTHON`, then `.venv` of the project, then `python3`. */
  readonly python?: string;
  /** The workers' working directory. Default: this process's. */
  readonly cwd?: string;
  /** Extra environment variables for the workers. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * How the pool reaches its workers. `'unix'` (the default on Linux and
   * macOS): each worker listens on a Unix socket in a directory of the
   * pool's that only this user can enter (mode 0700), removed on close; no
   * port is opened. `'tcp'` (the default on Windows): each worker listens on
   * 127.0.0.1 at a port the OS chooses. Does not apply to `endpoints` or `discover`.
   */
  readonly transport?: 'unix' | 'tcp';
  /** How long a worker may take to start (or, with `endpoints` or `discover`, to answer), in ms. Default 30000 (5000 with `endpoints` or `discover`). */
  readonly startTimeout?: number;
  /** Largest gRPC message either side accepts, in bytes. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /**
   * Receives what workers write to stderr (and to stdout before they are
   * ready): each log record, as text (with `record`, the record itself, also a
   * `log` event on `events$`), and each line a tool prints, as it is. A line
   * longer than 65536 characters arrives in pieces of that length, each but
   * the last ending with ` [line continues]`, so that no output can fill
   * Node's memory. Default: prefixed and written to `process.stderr`.
   */
  readonly onLog?: (line: string, workerId: string, record?: WorkerLog) => void;
  /**
   * The workers' Python logging level (`--log-level`): records below it are
   * not made. Default: `$SNAKEPIT_LOG_LEVEL` in `env`, else `WARNING`. Child
   * workers only: a remote worker takes its own `--log-level`.
   */
  readonly logLevel?: PythonLogLevel;
  /**
   * Node functions the Python tools may call by name, during a call, on the
   * call's own connection (remote workers included). A pool with host tools
   * runs its calls on a stream both ways; without, on the plain methods.
   */
  readonly hostTools?: Readonly<Record<string, HostTool>>;

  /**
   * Longest tool name, `sessionId` (and, through the bridge server, call id),
   * in characters; a longer one fails with `invalid_arguments` before
   * anything is sent. Default 256.
   */
  readonly maxIdLength?: number;
  /**
   * Deepest nesting of objects and arrays in a call's arguments, the
   * arguments object itself counting as 1; deeper ones fail with
   * `invalid_arguments` before anything is sent. Default 128.
   */
  readonly maxArgumentDepth?: number;
  /** Largest size of a call's arguments encoded as JSON, in bytes; larger ones fail with `invalid_arguments`. Default 16 MiB. */
  readonly maxArgumentBytes?: number;

  /** Calls that may wait while every worker is busy; beyond it a call fails at once with `pool_saturated`. Default: no limit. */
  readonly maxQueue?: number;
  /** How long a call may wait for a worker, in ms, before it fails with `queue_timeout`. Default: no limit. */
  readonly queueTimeout?: number;
  /** `strict`: calls with a `sessionId` wait for their session's worker even when others are idle. Default `prefer`. */
  readonly sessionAffinity?: 'prefer' | 'strict';

  /** Replace a worker after it has served this many calls. */
  readonly maxCallsPerWorker?: number;
  /** Replace a worker once it has lived this long, in ms (between calls, never during one). */
  readonly workerTtl?: number;
  /** @deprecated Renamed `workerTtl` (durations are in ms without saying so, as in Node); still accepted. */
  readonly workerTtlMs?: number;
  /** How often idle workers are pinged, in ms; one that does not answer is replaced. 0 turns it off. Default 10000. */
  readonly healthCheckInterval?: number;
  /** How long a health ping may take, in ms. Default 5000. */
  readonly healthCheckTimeout?: number;
  /** After a call is cancelled (unsubscribe, timeout, abort), how long its tool gets to stop, in ms, before its worker is killed and replaced. Default 5000. */
  readonly cancelGracePeriod?: number;
  /** Failed starts in a row after which a worker is not replaced any more and the pool is degraded. Default 5 (no limit with `endpoints` or `discover`). */
  readonly maxRestartAttempts?: number;

  /**
   * Use workers something else started (`python -m snakepit_bridge serve`),
   * one per `host:port`, instead of child processes. `size`, `python`,
   * `pythonPath`, `cwd` and `env` do not apply. An endpoint runs as many
   * calls at once as its health ping says (`serve --workers N`). To follow a
   * DNS name as it changes, use `discover` instead.
   */
  readonly endpoints?: readonly string[];
  /**
   * Find the endpoints behind a DNS name (a Kubernetes headless Service),
   * and follow it as it changes: endpoints join once they answer, and those
   * that disappear are drained. Instead of `endpoints`, and without `size`:
   * the pool's size is the sum of its endpoints' capacities.
   */
  readonly discover?: DiscoverOptions;
  /** With `endpoints` or `discover`: the token the workers were given (default: none). Child workers get a random one. */
  readonly token?: string;
  /** With `endpoints` or `discover`: connect with TLS. */
  readonly tls?: TlsOptions;
}

/** An address a DNS name resolves to, as `dns.promises.lookup(name, { all: true })` gives it. */
export interface DiscoveredAddress {
  /** An IPv4 or IPv6 address. */
  readonly address: string;
  /** 4 or 6. */
  readonly family: number;
}

/**
 * How a pool finds its endpoints (`createPool({ discover })`): the
 * addresses a DNS name resolves to, each on `port`. The name is resolved
 * again every `refreshInterval`, and at once after an endpoint fails. A new
 * address joins once it answers the health check with the right adapter and
 * token; an address that disappears is drained: it takes no new call, its
 * running calls finish (or fail with `worker_unavailable` after
 * `drainTimeout`), then its connection closes. A lookup that fails or
 * returns nothing keeps the endpoints the pool has (`discovery_failed`).
 */
export interface DiscoverOptions {
  /** The name to resolve, e.g. a headless Service's `snakepit-workers.default.svc.cluster.local`: one address per ready pod. */
  readonly dns: string;
  /** The port every address serves on. */
  readonly port: number;
  /** How often the name is resolved again, in ms. Default 10000; `Infinity`: only after an endpoint fails. */
  readonly refreshInterval?: number;
  /** How long calls running on an endpoint that disappeared get to finish, in ms, before they fail with `worker_unavailable`. Default 30000. */
  readonly drainTimeout?: number;
  /** Resolves the name; shaped as, and by default, `dns.promises.lookup(name, { all: true })`. Specs and other resolvers put theirs here. */
  readonly lookup?: (hostname: string, options: { all: true }) => Promise<readonly DiscoveredAddress[]>;
}

/** The bounds a pool checks every call's input against, from its options (`pool.limits`). */
export interface CallLimits {
  /** Longest tool name, session id or call id, in characters. */
  readonly maxIdLength: number;
  /** Deepest nesting of objects and arrays in a call's arguments. */
  readonly maxArgumentDepth: number;
  /** Largest size of a call's arguments encoded as JSON, in bytes. */
  readonly maxArgumentBytes: number;
}

/** A Python logging level, by name (either case). */
export type PythonLogLevel =
  'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL' | 'NONE' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'none';

/** A log record a child worker made in Python, as `onLog` and the `log` event give it. */
export interface WorkerLog {
  /** Python's level name: `DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL` (or a custom level's name). */
  readonly level: string;
  /** The logger's name, as `logging.getLogger(name)` was given it. */
  readonly logger: string;
  /** The formatted message, followed by the traceback when the record carries an exception. */
  readonly message: string;
  /** The call the record was made in (the pool's call id); undefined outside a call. */
  readonly callId: string | undefined;
  /** The tool that call runs; undefined outside a call. */
  readonly tool: string | undefined;
  /** The worker that made it. */
  readonly workerId: string;
  /** The call's trace id (32 hex digits), when the call is traced; undefined otherwise. */
  readonly traceId: string | undefined;
  /** When Python made the record, as `Date.now()` would have said. */
  readonly time: number;
}

/** TLS for connections to remote workers (`endpoints`). */
export interface TlsOptions {
  /** PEM root certificates to trust; default: the system's. */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key, for servers that ask for one. */
  readonly cert?: string | Buffer;
  /** PEM private key of `cert`. */
  readonly key?: string | Buffer;
  /** The name to check the server's certificate against, when it differs from the endpoint's host. */
  readonly serverName?: string;
}

/** What `pool.events$` reports. Every event carries `at`, a `Date.now()` timestamp. */
export type PoolEvent = PoolEventInit & {
  /** When it happened, as `Date.now()`. */
  readonly at: number;
};

/** A pool event without its timestamp. */
export type PoolEventInit =
  | { readonly type: 'worker_started'; readonly workerId: string; readonly pid: number | undefined; readonly startupMs: number }
  | {
      readonly type: 'worker_exited';
      readonly workerId: string;
      readonly code: number | null;
      readonly signal: string | null;
      /** False for a crash, a kill by the pool (hung tool, failed health check) or a lost endpoint. */
      readonly expected: boolean;
    }
  | { readonly type: 'worker_restarted'; readonly workerId: string; readonly replaced: string; readonly attempt: number }
  | { readonly type: 'worker_restart_failed'; readonly replaced: string; readonly attempt: number; readonly error: SnakepitError }
  | { readonly type: 'worker_recycled'; readonly workerId: string; readonly reason: 'max_calls' | 'ttl' }
  | { readonly type: 'worker_unhealthy'; readonly workerId: string; readonly reason: string }
  | { readonly type: 'worker_killed'; readonly workerId: string; readonly reason: 'ignored_cancellation' }
  | { readonly type: 'pool_degraded'; readonly error: SnakepitError }
  | {
      /** An endpoint joined the pool (it answered, with the right adapter and token); `capacity`: the calls it serves at once. */
      readonly type: 'endpoint_added';
      readonly endpoint: string;
      readonly capacity: number;
    }
  | {
      /** An endpoint left the pool (`discover` no longer finds it): it takes no new call and is drained. */
      readonly type: 'endpoint_removed';
      readonly endpoint: string;
      readonly capacity: number;
    }
  | {
      /** The DNS name of `discover` did not resolve, or resolved to no address: the pool keeps the endpoints it has. */
      readonly type: 'discovery_failed';
      readonly dns: string;
      readonly error: SnakepitError;
    }
  | ({ readonly type: 'log' } & WorkerLog)
  | { readonly type: 'call_queued'; readonly callId: string; readonly tool: string; readonly queueLength: number }
  | { readonly type: 'call_started'; readonly callId: string; readonly tool: string; readonly workerId: string; readonly queuedMs: number }
  | {
      readonly type: 'call_finished';
      readonly callId: string;
      readonly tool: string;
      /** Undefined when the call ended before it got a worker. */
      readonly workerId: string | undefined;
      readonly durationMs: number;
      readonly chunks: number;
      /** `cancelled`: the consumer unsubscribed; an abort through a signal is `failed` with code `cancelled`. */
      readonly outcome: 'completed' | 'failed' | 'cancelled';
      readonly errorCode?: SnakepitErrorCode;
    };

/** The `type` of a pool event. */
export type PoolEventType = PoolEvent['type'];

/**
 * A snapshot of the pool. An autoscaler follows `busy + queued` (the calls
 * that want a worker) against `slots` (those the pool can run at once).
 */
export interface PoolStats {
  /** Workers alive now, busy or idle: child processes, or connected endpoints (draining ones included). */
  readonly workers: number;
  /** Endpoints in service (connected, not draining); 0 for a pool of child workers. */
  readonly endpoints: number;
  /** Calls the workers in service can run at once: one per child worker, an endpoint's capacity for each endpoint. */
  readonly slots: number;
  /** Calls running on a worker (or finishing a cancel), those of draining endpoints included. */
  readonly busy: number;
  /** Calls that could start now: free slots. */
  readonly idle: number;
  /** Calls waiting for a worker. */
  readonly queued: number;
  /** Times calls got a worker, since the pool started (a call retried on another worker, its first having died before the call reached it, counts twice). */
  readonly calls: number;
  /** Calls that ended with an error, since the pool started. */
  readonly errors: number;
  /** Workers started to replace others, since the pool started. */
  readonly restarts: number;
  /** True once a worker could not be replaced after repeated attempts. */
  readonly degraded: boolean;
}

/** PEM-encoded TLS material for `createBridgeServer`. */
export interface BridgeServerTlsOptions {
  /** The server's certificate chain. */
  readonly cert: string | Buffer;
  /** The server's PEM private key. */
  readonly key: string | Buffer;
  /** CA certificates that client certificates are checked against. */
  readonly ca?: string | Buffer;
  /** Refuse clients without a certificate signed by `ca` (mutual TLS). Default false. */
  readonly requireClientCert?: boolean;
}

/** Options of `createBridgeServer`. */
export interface BridgeServerOptions {
  /** The interface to listen on. Default `127.0.0.1`: reachable from this machine only. */
  readonly host?: string;
  /** Default 0: a free port, chosen by the system (read it from `server.port`). */
  readonly port?: number;
  /** When set, every call must carry the metadata `authorization: Bearer <token>`; others fail with UNAUTHENTICATED. */
  readonly token?: string;
  /** Serve TLS instead of plaintext. */
  readonly tls?: BridgeServerTlsOptions;
  /** What `Ping` answers as `worker_id`. Default `bridge-<random hex>`. */
  readonly id?: string;
  /** Largest gRPC message received or sent, in bytes. Default: the pool's `maxMessageBytes`, so that every chunk a worker may send can be relayed. */
  readonly maxMessageBytes?: number;
  /**
   * The longest a pooled call may run, in ms, whatever deadline its client
   * set: a client's deadline shortens it, a later one cannot extend it
   * (`Infinity`: the client's deadline alone). Default: the pool's default
   * timeout, 300000.
   */
  readonly callTimeout?: number;
  /**
   * Calls of one client that may be in the pool at once (running, or
   * waiting there for a worker); its others wait their turn at the server,
   * the clients taking turns. Default: the pool's size (as it changes, with
   * `discover`). Set it lower to keep workers for other clients when one may
   * hold streams open without reading them.
   */
  readonly perClientConcurrency?: number;
  /** Calls of one client that may wait for their turn; past it a call is refused with `pool_saturated` (RESOURCE_EXHAUSTED). Default 100. */
  readonly perClientQueue?: number;
  /**
   * Bytes of requests that the calls waiting for their turn may hold, of
   * every client together (a client may open as many connections as it
   * likes); past it a call is refused with `pool_saturated`
   * (RESOURCE_EXHAUSTED). Default 268435456 (256 MiB).
   */
  readonly maxWaitingBytes?: number;
  /**
   * Who a call is from, for `perClientConcurrency` and `perClientQueue`.
   * Default: its peer address (`call.getPeer()`), so each connection is a
   * client. Behind a proxy, or to count a tenant's connections together, read
   * it from the metadata: `(call) => String(call.metadata.get('x-tenant')[0] ?? call.getPeer())`.
   */
  readonly clientId?: (call: BridgeClientCall) => string;
}

/** What `clientId` sees of an incoming call: a grpc-js server call. */
export interface BridgeClientCall {
  /** The client's address, as grpc-js reports it (`127.0.0.1:53412`). */
  getPeer(): string;
  /** The call's metadata. */
  readonly metadata: {
    /** The values the client sent under `key`. */
    get(key: string): (string | Uint8Array)[];
  };
}

/** Options of `server.shutdown()`. */
export interface BridgeServerShutdownOptions {
  /** How long running calls get to finish, in ms, before they are cancelled. Default 30000. */
  readonly timeout?: number;
}

/** A running bridge server, from `createBridgeServer`. */
export interface BridgeServer {
  /** `host:port`, as a client would dial it (IPv6 hosts in brackets). */
  readonly address: string;
  /** The interface it listens on. */
  readonly host: string;
  /** The bound port: the one chosen by the system when `port` was 0. */
  readonly port: number;
  /** What `Ping` answers as `worker_id`. */
  readonly id: string;
  /**
   * Refuses new calls and waits for running ones to finish, up to
   * `timeout`; then cancels the rest as `close()` does. The pool stays open.
   */
  shutdown(options?: BridgeServerShutdownOptions): Promise<void>;
  /** Cancels every running call (their pooled calls and Python generators too) and stops. The pool stays open. Safe to call twice. */
  close(): Promise<void>;
}
