import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { pb, serialize } from './bridge-connection.js';
import { ERROR_METADATA_KEY } from './error-from-status.js';
import { ERROR_CODES, SnakepitError, type SnakepitErrorCode } from '../errors.js';
import { cutEnd, cutMiddle } from './truncation.js';

/**
 * What each part of a status may take in the trailers, in UTF-8 bytes, as
 * the Python worker's errors.py has them: about 8 KiB in all. grpcio clients
 * refuse trailers over 16 KiB, and Node's HTTP/2 drops more than 64 KiB
 * without a word (the client then waits for its deadline).
 */
const MESSAGE_BYTES = 2048;
const TRACEBACK_BYTES = 4096;
const HINT_BYTES = 1024;
const NAME_BYTES = 256;
const STATUS_DETAILS_BYTES = 1024;

/** The gRPC status a call that fails with `code` ends with, as {@link ERROR_CODES} has it. */
function statusFor(code: SnakepitErrorCode): Status {
  return Status[ERROR_CODES[code].status];
}

/** Ends a call: a status code, details that read well alone, and the ErrorDetail in the trailers. */
export type ErrorStatus = Pick<StatusObject, 'code' | 'details' | 'metadata'>;

/**
 * The status a failed call ends with; anything but a SnakepitError is a fault
 * of the server itself. Each part is cut to its size, and marked where cut.
 */
export function errorStatus(error: unknown): ErrorStatus {
  const failure =
    error instanceof SnakepitError
      ? error
      : new SnakepitError('transport_error', `the bridge server failed: ${error instanceof Error ? error.message : String(error)}`);
  const detail = new pb.ErrorDetail({
    code: failure.code,
    message: cutEnd(failure.message, MESSAGE_BYTES),
    python_type: cutEnd(failure.pythonType ?? '', NAME_BYTES),
    python_traceback: cutMiddle(failure.pythonTraceback ?? '', TRACEBACK_BYTES),
    hint: cutEnd(failure.hint ?? '', HINT_BYTES),
    worker_id: cutEnd(failure.workerId ?? '', NAME_BYTES),
  });
  const metadata = new Metadata();
  metadata.set(ERROR_METADATA_KEY, serialize(detail));
  // Clients that cannot read binary trailers still see the hint.
  const details = failure.hint === undefined ? failure.message : `${failure.message} (hint: ${failure.hint})`;
  return { code: statusFor(failure.code), details: cutEnd(details, STATUS_DETAILS_BYTES), metadata };
}
