import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { pb, serialize } from './bridge-connection.js';
import { ERROR_METADATA_KEY } from './error-from-status.js';
import { ERROR_CODES, SnakepitError, type SnakepitErrorCode } from '../errors.js';

/** The gRPC status a call that fails with `code` ends with, as {@link ERROR_CODES} has it. */
function statusFor(code: SnakepitErrorCode): Status {
  return Status[ERROR_CODES[code].status];
}

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
  return { code: statusFor(failure.code), details, metadata };
}
