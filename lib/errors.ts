/**
 * Every error code: where it can arise, and the gRPC status a call that
 * fails with it ends with (`lib/contract/status-for-error.ts`; the bridge
 * server's callers see it). The one table of codes in TypeScript:
 * {@link SnakepitErrorCode} and the known-code check derive from it.
 *
 * `scope` says which sides have the code:
 * - `shared`: Python workers raise it too. worker-python's
 *   `snakepit_bridge/errors.py` has the same code with the same status,
 *   and spec/shared-tables.spec.ts fails when the two tables disagree.
 * - `node`: only Node raises it (the pool, worker processes, the transport).
 * - `browser`: only the browser client raises it; it never travels as a
 *   gRPC status, and `status` says only which one it corresponds to.
 */
export const ERROR_CODES = {
  /** The adapter has no tool of that name. */
  tool_not_found: { scope: 'shared', status: 'NOT_FOUND' },
  /** A streaming call to a tool without `supports_streaming`. */
  not_streaming: { scope: 'shared', status: 'UNIMPLEMENTED' },
  /** A unary call (`execute`) to a streaming tool. */
  not_unary: { scope: 'shared', status: 'FAILED_PRECONDITION' },
  /** Arguments that are not JSON, or that the tool's signature refuses. */
  invalid_arguments: { scope: 'shared', status: 'INVALID_ARGUMENT' },
  /** The tool raised an exception. */
  python_error: { scope: 'shared', status: 'UNKNOWN' },
  /** The tool returned or yielded something that cannot be encoded. */
  serialization_error: { scope: 'shared', status: 'INTERNAL' },
  /** A chunk or result over the message-size limit. */
  chunk_too_large: { scope: 'shared', status: 'RESOURCE_EXHAUSTED' },
  /** Cancelled through an `AbortSignal`. */
  cancelled: { scope: 'shared', status: 'CANCELLED' },
  /** The worker refused the call's token. */
  unauthenticated: { scope: 'shared', status: 'UNAUTHENTICATED' },
  /** The call outlived its `timeout`. */
  timeout: { scope: 'node', status: 'DEADLINE_EXCEEDED' },
  /**
   * The worker process died during the call (also from the dispatcher of
   * `serve --workers N`, for one of its processes). Not UNAVAILABLE: clients retry
   * that one automatically, and a tool that killed its worker would kill the next one too.
   */
  worker_crashed: { scope: 'shared', status: 'ABORTED' },
  /** The worker could not be reached (or, behind a dispatcher, none of its processes runs). */
  worker_unavailable: { scope: 'shared', status: 'UNAVAILABLE' },
  /** A worker could not start. */
  worker_start_failed: { scope: 'node', status: 'UNAVAILABLE' },
  /** The pool was closed before or during the call. */
  pool_closed: { scope: 'node', status: 'UNAVAILABLE' },
  /** All workers busy and `maxQueue` calls already waiting; a `serve` process whose threads can hold no more waiting calls. */
  pool_saturated: { scope: 'shared', status: 'RESOURCE_EXHAUSTED' },
  /** No worker freed up within `queueTimeout`. */
  queue_timeout: { scope: 'node', status: 'RESOURCE_EXHAUSTED' },
  /** A gRPC failure that none of the codes above describes. */
  transport_error: { scope: 'node', status: 'INTERNAL' },
  /** The HTTP handler's `authorize` refused the request (HTTP 403). */
  permission_denied: { scope: 'node', status: 'PERMISSION_DENIED' },
  /** Only from the browser client (`snakepit-rx/browser`): the server could not be reached, or the connection dropped. */
  network_error: { scope: 'browser', status: 'UNAVAILABLE' },
  /** Only from the browser client (`snakepit-rx/browser`): an HTTP status it did not expect; the error's `status` holds it. */
  http_error: { scope: 'browser', status: 'UNKNOWN' },
} as const satisfies Readonly<Record<string, ErrorCodeInfo>>;

/** What {@link ERROR_CODES} says of a code. */
export interface ErrorCodeInfo {
  /** Which sides raise it: both (`shared`), or only `node` or the `browser` client. */
  readonly scope: 'shared' | 'node' | 'browser';
  /** The name of a gRPC status code, as grpc-js's `status` and Python's `grpc.StatusCode` spell it. */
  readonly status: string;
}

/**
 * Every failure the library reports is a `SnakepitError` whose `code` says
 * what happened; Python failures also carry the exception's type and
 * traceback. The README's Errors table says when each code arises.
 *
 * @useDeclaredType
 */
export type SnakepitErrorCode = keyof typeof ERROR_CODES;

/** True for a code this version knows (a newer worker may send others). */
export function isSnakepitErrorCode(code: string): code is SnakepitErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** What a `SnakepitError` may carry besides its code and message. */
export interface SnakepitErrorDetails {
  /** The Python exception's qualified type. */
  readonly pythonType?: string;
  /** The Python traceback, as Python formats it. */
  readonly pythonTraceback?: string;
  /** What to do about it. */
  readonly hint?: string;
  /** The worker that served the call. */
  readonly workerId?: string;
  /** The tool that was called. */
  readonly tool?: string;
  /** The underlying error, when there is one. */
  readonly cause?: unknown;
}

/**
 * The error of every failed call, pool start or bad option: `code` says what
 * happened, whatever the path (Node worker, remote worker, bridge server).
 */
export class SnakepitError extends Error {
  /** Always `'SnakepitError'`. */
  override readonly name = 'SnakepitError';
  /** What happened; see {@link SnakepitErrorCode}. */
  readonly code: SnakepitErrorCode;
  /** For `python_error`: the exception's qualified type, e.g. `ValueError` or `mypkg.errors.BadInput`. */
  readonly pythonType: string | undefined;
  /** For `python_error`: the traceback, as Python formats it. */
  readonly pythonTraceback: string | undefined;
  /** What to do about it, when there is something to say. */
  readonly hint: string | undefined;
  /** The worker that served the call, when it got one. */
  readonly workerId: string | undefined;
  /** The tool that was called, when the failure belongs to a call. */
  readonly tool: string | undefined;

  constructor(code: SnakepitErrorCode, message: string, details: SnakepitErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.pythonType = details.pythonType || undefined;
    this.pythonTraceback = details.pythonTraceback || undefined;
    this.hint = details.hint || undefined;
    this.workerId = details.workerId || undefined;
    this.tool = details.tool || undefined;
  }
}

/** True for a `SnakepitError`, and when `code` is given, one with that code. */
export function isSnakepitError(error: unknown, code?: SnakepitErrorCode): error is SnakepitError {
  return error instanceof SnakepitError && (code === undefined || error.code === code);
}
