import { SnakepitError } from './errors.js';
import type { WorkerExit, WorkerProcess } from './worker-process.js';

/** Exclusive use of one worker for one call. */
export interface Lease {
  readonly worker: WorkerProcess;
  /** Returns the worker to the pool; calling it again does nothing. */
  release(): void;
}

interface Waiter {
  readonly sessionId: string | undefined;
  readonly grant: (lease: Lease) => void;
  readonly fail: (error: SnakepitError) => void;
}

const MAX_REMEMBERED_SESSIONS = 10_000;
const RESTART_BACKOFF_MS = [0, 100, 250, 500, 1000, 2000, 5000];

export interface WorkerPoolHooks {
  readonly spawn: () => Promise<WorkerProcess>;
  /** A replacement failed to start; the pool tries again after a backoff. */
  readonly onRestartFailed: (error: unknown) => void;
}

/**
 * The workers and who may use them: one call per worker at a time, callers
 * queued in arrival order while all are busy, a session's calls steered to
 * the worker that served it before, and dead workers replaced.
 */
export class WorkerPool {
  private readonly workers = new Set<WorkerProcess>();
  private readonly idle: WorkerProcess[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly sessionWorker = new Map<string, WorkerProcess>();
  private closed = false;
  private restartFailures = 0;

  private constructor(readonly size: number, private readonly hooks: WorkerPoolHooks) {}

  /** Starts `size` workers concurrently; if any fails, stops the others and rejects with its error. */
  static async start(size: number, hooks: WorkerPoolHooks): Promise<WorkerPool> {
    const pool = new WorkerPool(size, hooks);
    const results = await Promise.allSettled(Array.from({ length: size }, () => hooks.spawn()));
    const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await Promise.all(started.map((worker) => worker.stop(0)));
      throw failure.reason;
    }
    for (const worker of started) pool.add(worker);
    return pool;
  }

  /** Workers alive now, idle or busy. */
  get liveWorkers(): readonly WorkerProcess[] {
    return [...this.workers];
  }

  /**
   * Grants a worker at once when one is idle, otherwise when one frees up.
   * Returns a function that withdraws the request if it is still waiting.
   */
  acquire(sessionId: string | undefined, grant: (lease: Lease) => void, fail: (error: SnakepitError) => void): () => void {
    if (this.closed) {
      fail(new SnakepitError('pool_closed', 'the pool is closed'));
      return () => {};
    }
    const worker = this.takeIdle(sessionId);
    if (worker !== undefined) {
      grant(this.lease(worker, sessionId));
      return () => {};
    }
    const waiter: Waiter = { sessionId, grant, fail };
    this.waiters.push(waiter);
    return () => {
      const position = this.waiters.indexOf(waiter);
      if (position >= 0) this.waiters.splice(position, 1);
    };
  }

  /** Stops every worker: asks each to stop, kills those still running after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.fail(new SnakepitError('pool_closed', 'the pool was closed'));
    this.idle.length = 0;
    await Promise.all([...this.workers].map((worker) => worker.stop(graceMs)));
  }

  private takeIdle(sessionId: string | undefined): WorkerProcess | undefined {
    const preferred = sessionId === undefined ? undefined : this.sessionWorker.get(sessionId);
    const position = preferred === undefined ? -1 : this.idle.indexOf(preferred);
    return position >= 0 ? this.idle.splice(position, 1)[0] : this.idle.shift();
  }

  private lease(worker: WorkerProcess, sessionId: string | undefined): Lease {
    if (sessionId !== undefined) this.remember(sessionId, worker);
    let released = false;
    return {
      worker,
      release: () => {
        if (released) return;
        released = true;
        this.makeAvailable(worker);
      },
    };
  }

  private remember(sessionId: string, worker: WorkerProcess): void {
    this.sessionWorker.delete(sessionId);
    this.sessionWorker.set(sessionId, worker);
    if (this.sessionWorker.size > MAX_REMEMBERED_SESSIONS) {
      const oldest = this.sessionWorker.keys().next().value;
      if (oldest !== undefined) this.sessionWorker.delete(oldest);
    }
  }

  private makeAvailable(worker: WorkerProcess): void {
    if (this.closed || worker.exited || !this.workers.has(worker)) return;
    const preferring = this.waiters.findIndex((waiter) => waiter.sessionId !== undefined && this.sessionWorker.get(waiter.sessionId) === worker);
    const next = preferring >= 0 ? this.waiters.splice(preferring, 1)[0] : this.waiters.shift();
    if (next === undefined) {
      this.idle.push(worker);
    } else {
      next.grant(this.lease(worker, next.sessionId));
    }
  }

  private add(worker: WorkerProcess): void {
    this.workers.add(worker);
    worker.onExit((exit) => this.onExit(worker, exit));
    this.makeAvailable(worker);
  }

  private onExit(worker: WorkerProcess, exit: WorkerExit): void {
    this.workers.delete(worker);
    const position = this.idle.indexOf(worker);
    if (position >= 0) this.idle.splice(position, 1);
    for (const [sessionId, sessionWorker] of this.sessionWorker) {
      if (sessionWorker === worker) this.sessionWorker.delete(sessionId);
    }
    if (!exit.expected && !this.closed) this.replace();
  }

  private replace(): void {
    const delay = RESTART_BACKOFF_MS[Math.min(this.restartFailures, RESTART_BACKOFF_MS.length - 1)] ?? 0;
    setTimeout(() => {
      if (this.closed) return;
      this.hooks.spawn().then(
        (worker) => {
          this.restartFailures = 0;
          if (this.closed) void worker.stop(0);
          else this.add(worker);
        },
        (error: unknown) => {
          this.restartFailures += 1;
          this.hooks.onRestartFailed(error);
          this.replace();
        },
      );
    }, delay);
  }
}
