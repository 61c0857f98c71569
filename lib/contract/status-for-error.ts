import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { pb, serialize } from './bridge-connection.js';
import { ERROR_METADATA_KEY } from './error-from-status.js';
import { SnakepitError, type SnakepitErrorCode } from '../errors.js';

/**
 * The gRPC status each error code ends a call with. The codes a Python
 * worker also reports mirror its `_STATUS_BY_CODE` (worker-python's
 * errors.py), so that a client sees the same status from a worker and from
 * a bridge server; the others only arise in Node.
 */
export const STATUS_BY_CODE: Readonly<Record<SnakepitErrorCode, Status>> = {
  tool_not_found: Status.NOT_FOUND,
  not_streaming: Status.UNIMPLEMENTED,
  not_unary: Status.FAILED_PRECONDITION,
  invalid_arguments: Status.INVALID_ARGUMENT,
  python_error: Status.UNKNOWN,
  serialization_error: Status.INTERNAL,
  chunk_too_large: Status.RESOURCE_EXHAUSTED,
  cancelled: Status.CANCELLED,
  unauthenticated: Status.UNAUTHENTICATED,
  timeout: Status.DEADLINE_EXCEEDED,
  // Not UNAVAILABLE: clients retry that one automatically, and a tool that
  // killed its worker would kill the next one too.
  worker_crashed: Status.ABORTED,
  worker_unavailable: Status.UNAVAILABLE,
  worker_start_failed: Status.UNAVAILABLE,
  pool_closed: Status.UNAVAILABLE,
  pool_saturated: Status.RESOURCE_EXHAUSTED,
  queue_timeout: Status.RESOURCE_EXHAUSTED,
  transport_error: Status.INTERNAL,
  // The HTTP handler's and the browser client's codes; a pool never meets them.
  permission_denied: Status.PERMISSION_DENIED,
  network_error: Status.UNAVAILABLE,
  http_error: Status.UNKNOWN,
};

/** Ends a call: a status code, details that read well alone, and the ErrorDetail in the trailers. */
export type ErrorStatus = Pick<StatusObject, 'code' | 'details' | 'metadata'>;

/** The status a failed call ends with; anything but a SnakepitError is a fault of the server itself. */
export function errorStatus(error: unknown): ErrorStatus {
  const failure =
    error instanceof SnakepitError
      ? error
      : new SnakepitError('transport_error', `the bridge server failed: ${error instanceof Error ? error.message : String(error)}`);
  const detail = new pb.ErrorDetail({
    code: failure.code,
    message: failure.message,
    python_type: failure.pythonType ?? '',
    python_traceback: failure.pythonTraceback ?? '',
    hint: failure.hint ?? '',
    worker_id: failure.workerId ?? '',
  });
  const metadata = new Metadata();
  metadata.set(ERROR_METADATA_KEY, serialize(detail));
  // Clients that cannot read binary trailers still see the hint.
  const details = failure.hint === undefined ? failure.message : `${failure.message} (hint: ${failure.hint})`;
  return { code: STATUS_BY_CODE[failure.code], details, metadata };
}
