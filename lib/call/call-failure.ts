import type { ServiceError } from '@grpc/grpc-js';
import { errorFromStatus, isRefusedBeforeStart, isTransportFailure } from '../contract/error-from-status.js';
import { SnakepitError } from '../errors.js';
import type { Worker } from '../worker/worker.js';

/** How long a broken connection waits for the worker's exit before calling it unavailable rather than crashed. */
const CRASH_CONFIRMATION_MS = 1000;

export function lossError(worker: Worker, tool: string): SnakepitError {
  const what = worker.lossCode === 'worker_crashed' ? 'died' : 'became unreachable';
  return new SnakepitError(worker.lossCode, `worker ${worker.id} ${what} while running ${tool}`, { workerId: worker.id, tool });
}

/**
 * Why a failed call certainly never ran its tool, so that it may run elsewhere: its local worker died before
 * acknowledging it (`lost`, see {@link neverRan}), or its endpoint refused it (`refused`, see {@link reportFailure}).
 */
export type NotRun = 'lost' | 'refused';

/**
 * Whether a call lost with its worker certainly never ran its tool, so that
 * running it elsewhere cannot run it twice. Workers acknowledge a call (send
 * their initial metadata) before its tool runs. A local worker that died
 * without acknowledging it never ran the tool: its process is gone, nothing
 * is on its way. A remote endpoint's acknowledgment may be lost in the
 * network while the tool runs: that call may have run.
 */
export function neverRan(worker: Worker, acknowledged: boolean): NotRun | undefined {
  return !acknowledged && worker.lossCode === 'worker_crashed' ? 'lost' : undefined;
}

/**
 * Reports a failed call. A broken connection says something about the
 * worker: a local process probably died, and its exit (if it comes within a
 * second) is the better explanation, which `onExit` listeners report; a
 * remote endpoint is taken out of service until it answers again, and so is
 * one that refused the call because none of its processes runs (the call,
 * which reached no tool, may then run elsewhere).
 */
export function reportFailure(
  worker: Worker,
  tool: string,
  error: ServiceError,
  fail: (error: SnakepitError, notRun?: NotRun) => void,
): void {
  const reportStatus = (notRun?: NotRun) => fail(errorFromStatus(error, { workerId: worker.id, tool }), notRun);
  if (isRefusedBeforeStart(error)) {
    // Failed first: the call no longer listens for the worker's exit, which would report a loss instead.
    reportStatus('refused');
    worker.kill();
  } else if (!isTransportFailure(error)) {
    reportStatus();
  } else if (worker.lossCode === 'worker_crashed') {
    setTimeout(reportStatus, CRASH_CONFIRMATION_MS);
  } else {
    worker.kill();
    fail(lossError(worker, tool));
  }
}
