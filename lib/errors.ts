/**
 * Every failure the library reports is a `SnakepitError` whose `code` says
 * what happened; Python failures also carry the exception's type and
 * traceback.
 */
export type SnakepitErrorCode =
  /** The adapter has no tool of that name. */
  | 'tool_not_found'
  /** A streaming call to a tool without `supports_streaming`. */
  | 'not_streaming'
  /** A unary call (`execute`) to a streaming tool. */
  | 'not_unary'
  /** Arguments that are not JSON, or that the tool's signature refuses. */
  | 'invalid_arguments'
  /** The tool raised an exception. */
  | 'python_error'
  /** The tool returned or yielded something that cannot be encoded. */
  | 'serialization_error'
  /** A chunk or result over the message-size limit. */
  | 'chunk_too_large'
  | 'timeout'
  /** Cancelled through an `AbortSignal`. */
  | 'cancelled'
  /** The worker process died during the call. */
  | 'worker_crashed'
  /** The worker could not be reached. */
  | 'worker_unavailable'
  | 'worker_start_failed'
  | 'pool_closed'
  /** All workers busy and `maxQueue` calls already waiting. */
  | 'pool_saturated'
  /** No worker freed up within `queueTimeout`. */
  | 'queue_timeout'
  /** The worker refused the call's token. */
  | 'unauthenticated'
  /** A gRPC failure that none of the codes above describes. */
  | 'transport_error'
  /** The HTTP handler's `authorize` refused the request (HTTP 403). */
  | 'permission_denied'
  /** Only from the browser client (`snakepit-rx/browser`): the server could not be reached, or the connection dropped. */
  | 'network_error'
  /** Only from the browser client (`snakepit-rx/browser`): an HTTP status it did not expect; the error's `status` holds it. */
  | 'http_error';

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
