import type { SnakepitError } from '../errors.js';
import type { Worker } from '../worker/worker.js';

/** One call's use of a worker: one of the calls it serves at once. */
export interface Lease {
  readonly worker: Worker;
  /** The call ended: the worker serves the next one. Calling it again does nothing. */
  release(): void;
  /**
   * The call was cancelled: the worker serves the next one once the tool has
   * stopped, and is killed and replaced if it has not within the grace period.
   */
  releaseAfterCancel(callId: string): void;
}

/** What a call asks the pool for. */
export interface LeaseRequest {
  readonly callId: string;
  readonly tool: string;
  readonly sessionId: string | undefined;
  readonly sessionAffinity: 'prefer' | 'strict';
}

/** A request waiting for a worker. */
export interface Waiter {
  readonly request: LeaseRequest;
  /** The worker a strict session must wait for (while it is in service). */
  readonly requires: Worker | undefined;
  readonly grant: (lease: Lease) => void;
  readonly fail: (error: SnakepitError) => void;
  /** Fails the waiter with `queue_timeout`; cleared once it leaves the queue. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * The requests waiting for a worker, in arrival order: the pool's task
 * queue, as piscina calls it. A worker that frees up serves the first waiter
 * that prefers it (a session it served), else the first that may take any
 * worker; a strict session waits for its own worker unless that one is out
 * of service (gone, draining, or retiring).
 */
export class LeaseQueue {
  private readonly waiters: Waiter[] = [];

  get size(): number {
    return this.waiters.length;
  }

  push(waiter: Waiter): void {
    this.waiters.push(waiter);
  }

  /** Takes the waiter out of the queue, if it is still there. */
  remove(waiter: Waiter): void {
    const position = this.waiters.indexOf(waiter);
    if (position >= 0) this.waiters.splice(position, 1);
  }

  /**
   * Takes out the waiter `worker` should serve next, if any; `sessionWorker` tells which worker served a
   * session, `inService` whether a worker still takes calls.
   */
  takeFor(
    worker: Worker,
    sessionWorker: (sessionId: string) => Worker | undefined,
    inService: (worker: Worker) => boolean,
  ): Waiter | undefined {
    let position = this.waiters.findIndex(
      (waiter) =>
        waiter.requires === worker || (waiter.request.sessionId !== undefined && sessionWorker(waiter.request.sessionId) === worker),
    );
    if (position < 0) position = this.waiters.findIndex((waiter) => waiter.requires === undefined || !inService(waiter.requires));
    return position < 0 ? undefined : this.waiters.splice(position, 1)[0];
  }

  /** Takes out every waiter. */
  takeAll(): Waiter[] {
    return this.waiters.splice(0);
  }
}
