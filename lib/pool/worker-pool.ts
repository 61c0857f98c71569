import { SnakepitError } from '../errors.js';
import type { PoolEventInit } from '../public-types.js';
import type { ResolvedPoolOptions } from './pool-options.js';
import type { Worker, WorkerExit } from '../worker/worker.js';
import { LeaseQueue, type Lease, type LeaseRequest, type Waiter } from './lease-queue.js';

export type WorkerPoolOptions = Pick<
  ResolvedPoolOptions,
  | 'size'
  | 'maxQueue'
  | 'queueTimeoutMs'
  | 'maxCallsPerWorker'
  | 'workerTtlMs'
  | 'healthCheckIntervalMs'
  | 'healthCheckTimeoutMs'
  | 'cancelGracePeriodMs'
  | 'maxRestartAttempts'
> & {
  /** Starts the worker of a slot; called again to replace it. */
  readonly spawn: (slot: number) => Promise<Worker>;
  /** Whether every slot must start for the pool to start (else one is enough, the rest keep trying). */
  readonly requireAllAtStart: boolean;
  readonly emit: (event: PoolEventInit) => void;
};

interface WorkerState {
  readonly slot: number;
  readonly startedAt: number;
  calls: number;
}

const MAX_REMEMBERED_SESSIONS = 10_000;
/** The wait before replacing a worker, by how many starts of its slot failed in a row (the last one repeats). */
const RESTART_BACKOFF_MS = [0, 100, 250, 500, 1000, 2000, 5000];

/**
 * Which worker serves which call: one call per worker at a time, callers
 * queued in arrival order while all are busy, a session's calls steered to
 * the worker that served it before, and workers that die, hang, stop
 * answering (idle or busy) or reach their recycling limits replaced.
 *
 * Its seams, where unit specs put fakes (spec/worker-pool.spec.ts): workers
 * come from `spawn` through the Worker interface, waiters wait in a
 * LeaseQueue, and time is Node's timers and `Date.now()`.
 */
export class WorkerPool {
  private readonly states = new Map<Worker, WorkerState>();
  private readonly idle: Worker[] = [];
  private readonly queue = new LeaseQueue();
  private readonly sessionWorker = new Map<string, Worker>();
  private readonly restartAttempts: number[];
  private readonly givenUp = new Set<number>();
  private readonly pendingStarts = new Set<Promise<unknown>>();
  /** Workers no longer in service that are still stopping: close() waits for them too. */
  private readonly stopping = new Set<Promise<void>>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private healthTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastStartError: SnakepitError | undefined;
  private counters = { calls: 0, restarts: 0 };

  private constructor(private readonly options: WorkerPoolOptions) {
    this.restartAttempts = Array.from({ length: options.size }, () => 0);
  }

  /** Starts every slot's worker concurrently. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    const results = await Promise.allSettled(Array.from({ length: options.size }, (_, slot) => pool.track(options.spawn(slot))));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    const started = results.flatMap((result, slot) => (result.status === 'fulfilled' ? [{ worker: result.value, slot }] : []));
    if (started.length === 0 || (options.requireAllAtStart && failures.length > 0)) {
      await Promise.all(started.map(({ worker }) => worker.stop(0)));
      throw failures[0];
    }
    for (const { worker, slot } of started) pool.add(worker, slot);
    results.forEach((result, slot) => {
      if (result.status === 'rejected') pool.scheduleRestart(slot, `slot-${slot + 1}`);
    });
    if (options.healthCheckIntervalMs > 0) {
      pool.healthTimer = setInterval(() => pool.checkHealth(), options.healthCheckIntervalMs);
      pool.healthTimer.unref();
    }
    return pool;
  }

  /** The number of slots: workers the pool keeps running. */
  get size(): number {
    return this.options.size;
  }

  get liveWorkers(): readonly Worker[] {
    return [...this.states.keys()];
  }

  get queued(): number {
    return this.queue.size;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get calls(): number {
    return this.counters.calls;
  }

  get restarts(): number {
    return this.counters.restarts;
  }

  /** How many sessions the pool remembers a worker for: at most 10,000, whose ids are at most `maxIdLength` long. */
  get rememberedSessions(): number {
    return this.sessionWorker.size;
  }

  /** Whether the pool still remembers which worker served the session. */
  remembersSession(sessionId: string): boolean {
    return this.sessionWorker.has(sessionId);
  }

  get degraded(): boolean {
    return this.givenUp.size > 0;
  }

  /**
   * Grants a worker at once when one is idle, otherwise when one frees up,
   * or fails the request. Returns a function that withdraws a waiting request.
   */
  acquire(request: LeaseRequest, grant: (lease: Lease) => void, fail: (error: SnakepitError) => void): () => void {
    const refusal = this.refusal();
    if (refusal !== undefined) {
      fail(refusal);
      return () => {};
    }
    const preferred = request.sessionId === undefined ? undefined : this.sessionWorker.get(request.sessionId);
    const requires = request.sessionAffinity === 'strict' ? preferred : undefined;
    const worker = this.takeIdle(preferred, requires);
    if (worker !== undefined) {
      grant(this.lease(worker, request));
      return () => {};
    }
    if (this.queue.size >= this.options.maxQueue) {
      fail(
        new SnakepitError('pool_saturated', `all workers are busy and ${this.queue.size} calls already wait`, {
          tool: request.tool,
          hint: 'raise maxQueue or size, or retry later',
        }),
      );
      return () => {};
    }
    const waiter: Waiter = { request, requires, grant, fail, timer: undefined };
    const { queueTimeoutMs } = this.options;
    if (queueTimeoutMs !== undefined) {
      waiter.timer = setTimeout(() => {
        this.removeWaiter(waiter);
        fail(new SnakepitError('queue_timeout', `no worker was free within ${queueTimeoutMs} ms`, { tool: request.tool }));
      }, queueTimeoutMs);
    }
    this.queue.push(waiter);
    this.options.emit({ type: 'call_queued', callId: request.callId, tool: request.tool, queueLength: this.queue.size });
    return () => this.removeWaiter(waiter);
  }

  /** Stops every worker: asks each to stop, kills those still running after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.healthTimer);
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.failWaiters(() => new SnakepitError('pool_closed', 'the pool was closed'));
    this.idle.length = 0;
    await Promise.allSettled([...this.pendingStarts]);
    for (const worker of this.liveWorkers) this.stopAside(worker, graceMs);
    await Promise.all([...this.stopping]);
  }

  private stopAside(worker: Worker, graceMs: number): void {
    const stopped = worker.stop(graceMs);
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
  }

  private refusal(): SnakepitError | undefined {
    if (this.closed) return new SnakepitError('pool_closed', 'the pool is closed');
    if (this.states.size === 0 && this.givenUp.size === this.options.size) {
      return new SnakepitError('worker_start_failed', `no worker is running: ${this.lastStartError?.message ?? 'every start failed'}`, {
        cause: this.lastStartError,
      });
    }
    return undefined;
  }

  private removeWaiter(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.queue.remove(waiter);
  }

  private failWaiters(error: () => SnakepitError): void {
    for (const waiter of this.queue.takeAll()) {
      clearTimeout(waiter.timer);
      waiter.fail(error());
    }
  }

  private takeIdle(preferred: Worker | undefined, requires: Worker | undefined): Worker | undefined {
    const wanted = requires ?? preferred;
    const position = wanted === undefined ? -1 : this.idle.indexOf(wanted);
    if (position >= 0) return this.idle.splice(position, 1)[0];
    return requires === undefined ? this.idle.shift() : undefined;
  }

  private lease(worker: Worker, request: LeaseRequest): Lease {
    if (request.sessionId !== undefined) this.remember(request.sessionId, worker);
    this.counters.calls += 1;
    const state = this.states.get(worker);
    if (state !== undefined) state.calls += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.makeAvailable(worker);
    };
    return {
      worker,
      release,
      releaseAfterCancel: (callId) => {
        if (released) return;
        if (this.closed || worker.exited) {
          release();
          return;
        }
        const grace = this.options.cancelGracePeriodMs;
        worker.connection.awaitCall(callId, grace).then(
          (ended) => (ended ? release() : this.killHung(worker)),
          () => this.killHung(worker),
        );
      },
    };
  }

  private killHung(worker: Worker): void {
    if (worker.exited || this.closed) return;
    this.options.emit({ type: 'worker_killed', workerId: worker.id, reason: 'ignored_cancellation' });
    worker.kill();
  }

  private remember(sessionId: string, worker: Worker): void {
    this.sessionWorker.delete(sessionId);
    this.sessionWorker.set(sessionId, worker);
    if (this.sessionWorker.size > MAX_REMEMBERED_SESSIONS) {
      const oldest = this.sessionWorker.keys().next().value;
      if (oldest !== undefined) this.sessionWorker.delete(oldest);
    }
  }

  private makeAvailable(worker: Worker): void {
    const state = this.states.get(worker);
    if (this.closed || worker.exited || state === undefined) return;
    const recycle = this.recycleReason(state);
    if (recycle !== undefined) {
      this.retire(worker, state, recycle);
      return;
    }
    const waiter = this.queue.takeFor(worker, (sessionId) => this.sessionWorker.get(sessionId));
    if (waiter === undefined) {
      this.idle.push(worker);
      return;
    }
    clearTimeout(waiter.timer);
    waiter.grant(this.lease(worker, waiter.request));
  }

  private recycleReason(state: WorkerState): 'max_calls' | 'ttl' | undefined {
    const { maxCallsPerWorker, workerTtlMs } = this.options;
    if (maxCallsPerWorker !== undefined && state.calls >= maxCallsPerWorker) return 'max_calls';
    if (workerTtlMs !== undefined && Date.now() - state.startedAt >= workerTtlMs) return 'ttl';
    return undefined;
  }

  private retire(worker: Worker, state: WorkerState, reason: 'max_calls' | 'ttl'): void {
    this.options.emit({ type: 'worker_recycled', workerId: worker.id, reason });
    this.forget(worker);
    this.stopAside(worker, this.options.cancelGracePeriodMs);
    this.scheduleRestart(state.slot, worker.id, false);
  }

  private add(worker: Worker, slot: number): void {
    this.states.set(worker, { slot, startedAt: Date.now(), calls: 0 });
    worker.onExit((exit) => this.onExit(worker, slot, exit));
    this.makeAvailable(worker);
  }

  private forget(worker: Worker): void {
    this.states.delete(worker);
    const position = this.idle.indexOf(worker);
    if (position >= 0) this.idle.splice(position, 1);
    for (const [sessionId, sessionWorker] of this.sessionWorker) {
      if (sessionWorker === worker) this.sessionWorker.delete(sessionId);
    }
  }

  private onExit(worker: Worker, slot: number, exit: WorkerExit): void {
    const known = this.states.has(worker);
    this.forget(worker);
    this.options.emit({ type: 'worker_exited', workerId: worker.id, code: exit.code, signal: exit.signal, expected: exit.expected });
    if (known && !exit.expected && !this.closed) this.scheduleRestart(slot, worker.id);
  }

  private scheduleRestart(slot: number, replaced: string, afterFailure = true): void {
    if (this.closed) return;
    const attempt = afterFailure ? (this.restartAttempts[slot] ?? 0) : 0;
    const delay = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)] ?? 0;
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.closed) return;
      this.track(this.options.spawn(slot)).then(
        (worker) => {
          if (this.closed) {
            this.stopAside(worker, 0);
            return;
          }
          this.restartAttempts[slot] = 0;
          this.counters.restarts += 1;
          this.options.emit({ type: 'worker_restarted', workerId: worker.id, replaced, attempt: attempt + 1 });
          this.add(worker, slot);
        },
        (cause: unknown) => this.onRestartFailed(slot, replaced, attempt + 1, cause),
      );
    }, delay);
    this.restartTimers.add(timer);
  }

  private onRestartFailed(slot: number, replaced: string, attempt: number, cause: unknown): void {
    if (this.closed) return;
    const error = cause instanceof SnakepitError ? cause : new SnakepitError('worker_start_failed', String(cause), { cause });
    this.lastStartError = error;
    this.restartAttempts[slot] = attempt;
    this.options.emit({ type: 'worker_restart_failed', replaced, attempt, error });
    if (attempt < this.options.maxRestartAttempts) {
      this.scheduleRestart(slot, replaced);
      return;
    }
    this.givenUp.add(slot);
    this.options.emit({ type: 'pool_degraded', error });
    const refusal = this.refusal();
    if (refusal !== undefined) this.failWaiters(() => refusal);
  }

  private checkHealth(): void {
    // Idle workers past their lifetime are recycled without waiting for a call.
    for (const worker of [...this.idle]) {
      const state = this.states.get(worker);
      const reason = state === undefined ? undefined : this.recycleReason(state);
      if (state !== undefined && reason !== undefined) {
        this.idle.splice(this.idle.indexOf(worker), 1);
        this.retire(worker, state, reason);
      }
    }
    // Busy workers too: the worker answers pings on a thread of their own, so one that does not
    // answer while its tool runs is hung or stopped, and its call would otherwise wait for its timeout.
    for (const worker of this.states.keys()) {
      worker.connection.ping(new Date(Date.now() + this.options.healthCheckTimeoutMs)).catch((error: unknown) => {
        if (worker.exited || this.closed || !this.states.has(worker)) return;
        this.options.emit({ type: 'worker_unhealthy', workerId: worker.id, reason: String(error) });
        worker.kill();
      });
    }
  }

  private track<T>(start: Promise<T>): Promise<T> {
    this.pendingStarts.add(start);
    const untrack = () => this.pendingStarts.delete(start);
    start.then(untrack, untrack);
    return start;
  }
}
