import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { isSnakepitErrorCode, SnakepitError, type SnakepitErrorCode } from '../errors.js';
import { decodeMessage } from './bridge-connection.js';
import { MalformedMessage } from './wire-bounds.js';

export const ERROR_METADATA_KEY = 'snakepit-error-bin';
/** Trailer of a call an endpoint refused before any tool saw it: `serve --workers N` while none of its processes runs. */
export const NOT_STARTED_METADATA_KEY = 'snakepit-not-started';

const CODE_BY_STATUS: Partial<Record<Status, SnakepitErrorCode>> = {
  [Status.CANCELLED]: 'cancelled',
  [Status.DEADLINE_EXCEEDED]: 'timeout',
  [Status.UNAUTHENTICATED]: 'unauthenticated',
  [Status.RESOURCE_EXHAUSTED]: 'chunk_too_large',
  [Status.UNAVAILABLE]: 'worker_unavailable',
  [Status.NOT_FOUND]: 'tool_not_found',
  [Status.UNIMPLEMENTED]: 'not_streaming',
  [Status.INVALID_ARGUMENT]: 'invalid_arguments',
};

/** True when the status says nothing about the tool: the connection to the worker failed. */
export function isTransportFailure(error: ServiceError): boolean {
  return (
    error.metadata?.get(ERROR_METADATA_KEY).length === 0 &&
    (error.code === Status.UNAVAILABLE || error.code === Status.INTERNAL || error.code === Status.UNKNOWN)
  );
}

/** True when the endpoint refused the call before any tool saw it: it may run elsewhere. */
export function isRefusedBeforeStart(error: ServiceError): boolean {
  return error.code === Status.UNAVAILABLE && error.metadata?.get(NOT_STARTED_METADATA_KEY).length > 0;
}

/** The ErrorDetail a worker put in the trailers; undefined when there is none, or none that reads. */
function errorDetailOf(error: ServiceError): ReturnType<typeof decodeMessage<'ErrorDetail'>> | undefined {
  const encoded = error.metadata?.get(ERROR_METADATA_KEY)[0];
  if (!(encoded instanceof Buffer)) return undefined;
  try {
    return decodeMessage('ErrorDetail', encoded);
  } catch (failure) {
    if (failure instanceof MalformedMessage) return undefined;
    throw failure;
  }
}

/** The SnakepitError a failed gRPC call stands for, from the worker's ErrorDetail when it sent one. */
export function errorFromStatus(error: ServiceError, context: { workerId: string; tool: string }): SnakepitError {
  const detail = errorDetailOf(error);
  if (detail !== undefined) {
    return new SnakepitError(isSnakepitErrorCode(detail.code) ? detail.code : 'python_error', detail.message, {
      pythonType: detail.python_type,
      pythonTraceback: detail.python_traceback,
      hint: detail.hint,
      workerId: detail.worker_id || context.workerId,
      tool: context.tool,
    });
  }
  return new SnakepitError(CODE_BY_STATUS[error.code] ?? 'transport_error', error.details || error.message, {
    workerId: context.workerId,
    tool: context.tool,
    cause: error,
  });
}
