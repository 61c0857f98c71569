import type { ServiceError } from '@grpc/grpc-js';
import { errorFromStatus, isTransportFailure } from '../contract/error-from-status.js';
import { SnakepitError } from '../errors.js';
import type { Worker } from '../worker/worker.js';

/** How long a broken connection waits for the worker's exit before calling it unavailable rather than crashed. */
const CRASH_CONFIRMATION_MS = 1000;

export function lossError(worker: Worker, tool: string): SnakepitError {
  const what = worker.lossCode === 'worker_crashed' ? 'died' : 'became unreachable';
  return new SnakepitError(worker.lossCode, `worker ${worker.id} ${what} while running ${tool}`, { workerId: worker.id, tool });
}

/**
 * Whether a call lost with its worker certainly never ran its tool, so that
 * running it elsewhere cannot run it twice. Workers acknowledge a call (send
 * their initial metadata) before its tool runs. A local worker that died
 * without acknowledging it never ran the tool: its process is gone, nothing
 * is on its way. A remote endpoint's acknowledgment may be lost in the
 * network while the tool runs: that call may have run.
 */
export function neverRan(worker: Worker, acknowledged: boolean): boolean {
  return !acknowledged && worker.lossCode === 'worker_crashed';
}

/**
 * Reports a failed call. A broken connection says something about the
 * worker: a local process probably died, and its exit (if it comes within a
 * second) is the better explanation, which `onExit` listeners report; a
 * remote endpoint is taken out of service until it answers again.
 */
export function reportFailure(worker: Worker, tool: string, error: ServiceError, fail: (error: SnakepitError) => void): void {
  const reportStatus = () => fail(errorFromStatus(error, { workerId: worker.id, tool }));
  if (!isTransportFailure(error)) {
    reportStatus();
  } else if (worker.lossCode === 'worker_crashed') {
    setTimeout(reportStatus, CRASH_CONFIRMATION_MS);
  } else {
    worker.kill();
    fail(lossError(worker, tool));
  }
}
