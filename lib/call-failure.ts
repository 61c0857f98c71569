import type { ServiceError } from '@grpc/grpc-js';
import { errorFromStatus, isTransportFailure } from './contract/status-error.js';
import { SnakepitError } from './errors.js';
import type { Worker } from './worker.js';

/** How long a broken connection waits for the worker's exit before calling it unavailable rather than crashed. */
const CRASH_CONFIRMATION_MS = 1000;

export function lossError(worker: Worker, tool: string): SnakepitError {
  const what = worker.lossCode === 'worker_crashed' ? 'died' : 'became unreachable';
  return new SnakepitError(worker.lossCode, `worker ${worker.id} ${what} while running ${tool}`, { workerId: worker.id, tool });
}

/**
 * Reports a failed call: when the connection broke and the worker is a local
 * process, its exit (if it comes within a second) is the better explanation,
 * and `onExit` listeners report it; otherwise the gRPC status.
 */
export function reportFailure(worker: Worker, tool: string, error: ServiceError, fail: (error: SnakepitError) => void): void {
  const reportStatus = () => fail(errorFromStatus(error, { workerId: worker.id, tool }));
  if (isTransportFailure(error) && worker.lossCode === 'worker_crashed') setTimeout(reportStatus, CRASH_CONFIRMATION_MS);
  else reportStatus();
}
