// How error codes and HTTP statuses correspond, for the HTTP handler (code →
// status) and the browser client (status → code, when a response carries no
// error of ours). Browser-safe.
import { SnakepitError, type SnakepitErrorCode, type SnakepitErrorDetails } from '../errors.js';

/** The HTTP status of each error code the handler answers with; any other code is a 500. */
const STATUS_BY_CODE: Partial<Record<SnakepitErrorCode, number>> = {
  tool_not_found: 404,
  invalid_arguments: 400,
  not_streaming: 400,
  not_unary: 400,
  unauthenticated: 401,
  permission_denied: 403,
  pool_saturated: 503,
  queue_timeout: 503,
  worker_unavailable: 503,
  timeout: 504,
};

/** The codes a client reads from a bare status, when the response holds no error of ours (a proxy answered, say). */
const CODE_BY_STATUS: Readonly<Record<number, SnakepitErrorCode>> = {
  401: 'unauthenticated',
  403: 'permission_denied',
  413: 'invalid_arguments',
  415: 'invalid_arguments',
  503: 'pool_saturated',
};

export function httpStatusForCode(code: SnakepitErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

export function codeForHttpStatus(status: number): SnakepitErrorCode {
  return CODE_BY_STATUS[status] ?? 'http_error';
}

/**
 * A `SnakepitError` that came with an HTTP response (in the browser client)
 * or goes out as one (in the HTTP handler): `status` is the HTTP status.
 * `http_error` always has one.
 */
export class SnakepitHttpError extends SnakepitError {
  /** The HTTP status of the response. */
  readonly status: number;

  constructor(status: number, code: SnakepitErrorCode, message: string, details: SnakepitErrorDetails = {}) {
    super(code, message, details);
    this.status = status;
  }
}
