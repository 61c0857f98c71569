import { SnakepitError } from '../errors.js';
import type { PoolEventInit } from '../public-types.js';
import type { ResolvedPoolOptions } from './pool-options.js';
import type { Worker, WorkerExit } from '../worker/worker.js';
import { LeaseQueue, type Lease, type LeaseRequest, type Waiter } from './lease-queue.js';
import { PoolMembers, type PoolMember } from './pool-members.js';
import { WorkerLoads, type WorkerLoad } from './worker-loads.js';

export type WorkerPoolOptions = Pick<
  ResolvedPoolOptions,
  | 'maxQueue'
  | 'queueTimeoutMs'
  | 'maxCallsPerWorker'
  | 'workerTtlMs'
  | 'healthCheckIntervalMs'
  | 'healthCheckTimeoutMs'
  | 'cancelGracePeriodMs'
  | 'maxRestartAttempts'
> & {
  /** What the pool runs a worker for from the start, by name: slots of child workers (`'1'`...), or endpoints. */
  readonly members: readonly string[];
  /** Starts a member's worker; called again to replace it. `signal` aborts when the pool closes. */
  readonly spawn: (member: string, signal: AbortSignal) => Promise<Worker>;
  /** Whether every member must start for the pool to start (else one is enough, the rest keep trying). */
  readonly requireAllAtStart: boolean;
  /** Whether the members are endpoints: their joining and leaving are reported, and counted in `endpointCount`. */
  readonly endpoints: boolean;
  readonly emit: (event: PoolEventInit) => void;
  /** Told when a worker goes away unasked (discovery then resolves its name again at once). */
  readonly onWorkerLost?: () => void;
};

const MAX_REMEMBERED_SESSIONS = 10_000;

/**
 * Which worker serves which call: each worker runs up to its capacity
 * (one call for a worker process, N for an endpoint of `serve --workers N`),
 * the least loaded first; callers queue in arrival order while none has
 * room; a session's calls are steered to the worker that served it before;
 * workers that die, hang, stop answering (idle or busy) or reach their
 * recycling limits are replaced. Members (endpoints) may join and leave: a
 * leaving one takes no new call and is stopped once its calls end, or
 * killed after its drain timeout.
 *
 * Its seams, where unit specs put fakes (spec/worker-pool.spec.ts): workers
 * come from `spawn` through the Worker interface, waiters wait in a
 * LeaseQueue, and time is Node's timers and `Date.now()`.
 */
export class WorkerPool {
  private readonly loads = new WorkerLoads();
  private readonly queue = new LeaseQueue();
  private readonly sessionWorker = new Map<string, Worker>();
  private readonly members: PoolMembers;
  /** Workers no longer in service that are still stopping: close() waits for them too. */
  private readonly stopping = new Set<Promise<void>>();
  private healthTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private callCount = 0;
  private readonly sessionOf = (sessionId: string) => this.sessionWorker.get(sessionId);

  private constructor(private readonly options: WorkerPoolOptions) {
    this.members = new PoolMembers({
      spawn: options.spawn,
      maxRestartAttempts: options.maxRestartAttempts,
      endpoints: options.endpoints,
      emit: options.emit,
      join: (worker, member) => this.join(worker, member),
      discard: (worker) => this.stopAside(worker, 0),
      degraded: () => {
        const refusal = this.refusal();
        if (refusal !== undefined) this.failWaiters(() => refusal);
      },
    });
  }

  /** Starts every member's worker concurrently. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    await pool.members.start(options.members, options.requireAllAtStart);
    if (options.healthCheckIntervalMs > 0) {
      pool.healthTimer = setInterval(() => pool.checkHealth(), options.healthCheckIntervalMs);
      pool.healthTimer.unref();
    }
    return pool;
  }

  /** The calls the pool runs at once when every member's worker runs: the sum of their capacities. */
  get size(): number {
    return this.members.capacity;
  }

  /** The members the pool keeps a worker for, by name (endpoints as `host:port`). */
  get memberNames(): string[] {
    return this.members.names;
  }

  get liveWorkers(): readonly Worker[] {
    return this.loads.workers;
  }

  get queued(): number {
    return this.queue.size;
  }

  /** Calls that could start now: room left on the workers in service. */
  get idleCount(): number {
    return this.loads.idle;
  }

  /** Calls running on a worker (or finishing a cancel), draining endpoints included. */
  get busyCount(): number {
    return this.loads.busy;
  }

  /** Calls the workers in service run at once: their capacities. */
  get slots(): number {
    return this.loads.slots;
  }

  /** Endpoints in service (connected, not draining); 0 for child workers. */
  get endpointCount(): number {
    return this.options.endpoints ? this.loads.notDraining : 0;
  }

  get calls(): number {
    return this.callCount;
  }

  get restarts(): number {
    return this.members.restarts;
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
    return this.members.degraded;
  }

  /**
   * Grants a worker at once when one has room, otherwise when one frees up,
   * or fails the request. Returns a function that withdraws a waiting request.
   */
  acquire(request: LeaseRequest, grant: (lease: Lease) => void, fail: (error: SnakepitError) => void): () => void {
    const refusal = this.refusal();
    if (refusal !== undefined) {
      fail(refusal);
      return () => {};
    }
    const preferred = request.sessionId === undefined ? undefined : this.sessionWorker.get(request.sessionId);
    const requires =
      request.sessionAffinity === 'strict' && preferred !== undefined && this.loads.inService(preferred) ? preferred : undefined;
    const worker = this.loads.takeRoom(preferred, requires);
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

  /** Adds a member (an endpoint discovery found) and starts its worker; one still draining serves again. */
  addMember(name: string): void {
    if (this.closed) return;
    const { worker } = this.members.add(name);
    const load = worker === undefined ? undefined : this.loads.get(worker);
    if (worker === undefined || load?.closing !== 'drain') return;
    clearTimeout(load.drainTimer);
    // Taken back, it is what its calls and age make it: in service, or still retiring.
    load.closing = this.recycleReason(load);
    if (load.closing === undefined) this.serveWaiters(worker, load);
  }

  /**
   * Takes a member out (an endpoint its name no longer resolves to): its worker takes no new call,
   * and is stopped once its calls end; calls still running after `drainTimeoutMs` fail (its loss code).
   */
  removeMember(name: string, drainTimeoutMs: number): void {
    const worker = this.members.remove(name)?.worker;
    const load = worker === undefined ? undefined : this.loads.get(worker);
    if (worker === undefined || load === undefined) return;
    load.closing = 'drain';
    this.forgetSessionsOf(worker);
    if (load.running === 0) {
      this.finishClosing(worker, load);
    } else {
      load.drainTimer = setTimeout(() => worker.kill(), drainTimeoutMs);
    }
    // Strict sessions waiting for it take any worker now.
    this.serveAllWaiters();
  }

  /** Stops every worker: asks each to stop, kills those still running after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.healthTimer);
    this.failWaiters(() => new SnakepitError('pool_closed', 'the pool was closed'));
    await this.members.close();
    for (const [worker, load] of this.loads.entries()) {
      clearTimeout(load.drainTimer);
      this.stopAside(worker, graceMs);
    }
    await Promise.all([...this.stopping]);
  }

  private stopAside(worker: Worker, graceMs: number): void {
    const stopped = worker.stop(graceMs);
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
  }

  private refusal(): SnakepitError | undefined {
    if (this.closed) return new SnakepitError('pool_closed', 'the pool is closed');
    return this.loads.size === 0 ? this.members.exhausted : undefined;
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

  private lease(worker: Worker, request: LeaseRequest): Lease {
    if (request.sessionId !== undefined) this.remember(request.sessionId, worker);
    this.callCount += 1;
    const load = this.loads.get(worker);
    if (load !== undefined) {
      load.calls += 1;
      load.running += 1;
      const { maxCallsPerWorker } = this.options;
      if (maxCallsPerWorker !== undefined && load.calls >= maxCallsPerWorker) load.closing ??= 'max_calls';
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release(worker);
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

  private release(worker: Worker): void {
    const load = this.loads.get(worker);
    if (load === undefined) return;
    this.loads.released(load);
    if (this.closed || worker.exited) return;
    load.closing ??= this.recycleReason(load);
    if (load.closing === undefined) this.serveWaiters(worker, load);
    else if (load.running === 0) this.finishClosing(worker, load);
  }

  /** Grants the worker's room to the calls waiting for it, or for any worker. */
  private serveWaiters(worker: Worker, load: WorkerLoad): void {
    while (load.closing === undefined && load.running < worker.capacity) {
      const waiter = this.queue.takeFor(worker, this.sessionOf, this.loads.inService);
      if (waiter === undefined) return;
      clearTimeout(waiter.timer);
      waiter.grant(this.lease(worker, waiter.request));
    }
  }

  private serveAllWaiters(): void {
    for (const [worker, load] of this.loads.entries()) {
      if (this.queue.size === 0) return;
      if (this.loads.inService(worker)) this.serveWaiters(worker, load);
    }
  }

  private recycleReason(load: WorkerLoad): 'max_calls' | 'ttl' | undefined {
    const { maxCallsPerWorker, workerTtlMs } = this.options;
    if (maxCallsPerWorker !== undefined && load.calls >= maxCallsPerWorker) return 'max_calls';
    return workerTtlMs !== undefined && Date.now() - load.startedAt >= workerTtlMs ? 'ttl' : undefined;
  }

  /** Its last call ended: a drained worker stops, a recycled one is replaced. */
  private finishClosing(worker: Worker, load: WorkerLoad): void {
    clearTimeout(load.drainTimer);
    this.forget(worker);
    if (load.closing === 'max_calls' || load.closing === 'ttl') {
      this.options.emit({ type: 'worker_recycled', workerId: worker.id, reason: load.closing });
    }
    this.stopAside(worker, this.options.cancelGracePeriodMs);
    this.members.lost(load.member, worker.id, false);
    // Strict sessions waiting for it take any worker now, not once it has exited (its clean-up may take long).
    this.serveAllWaiters();
  }

  private join(worker: Worker, member: PoolMember): void {
    const load = this.loads.add(worker, member);
    worker.onExit((exit) => this.onExit(worker, exit));
    this.serveWaiters(worker, load);
  }

  private forget(worker: Worker): void {
    this.loads.delete(worker);
    this.forgetSessionsOf(worker);
  }

  private forgetSessionsOf(worker: Worker): void {
    for (const [sessionId, sessionWorker] of this.sessionWorker) {
      if (sessionWorker === worker) this.sessionWorker.delete(sessionId);
    }
  }

  private onExit(worker: Worker, exit: WorkerExit): void {
    const load = this.loads.get(worker);
    this.forget(worker);
    this.options.emit({ type: 'worker_exited', workerId: worker.id, code: exit.code, signal: exit.signal, expected: exit.expected });
    if (load === undefined || this.closed) return;
    clearTimeout(load.drainTimer);
    if (load.member.removed) {
      this.members.lost(load.member, worker.id, false);
    } else if (!exit.expected) {
      this.options.onWorkerLost?.();
      this.members.lost(load.member, worker.id, true);
    }
    // Strict sessions waiting for it take any worker now.
    this.serveAllWaiters();
  }

  private checkHealth(): void {
    // Idle workers past their lifetime are recycled without waiting for a call.
    for (const [worker, load] of this.loads.entries()) {
      if (load.running > 0 || load.closing !== undefined) continue;
      load.closing = this.recycleReason(load);
      if (load.closing !== undefined) this.finishClosing(worker, load);
    }
    // Busy workers too: the worker answers pings on a thread of their own, so one that does not
    // answer while its tool runs is hung or stopped, and its call would otherwise wait for its timeout.
    for (const worker of this.loads.workers) {
      worker.connection.ping(new Date(Date.now() + this.options.healthCheckTimeoutMs)).catch((error: unknown) => {
        if (worker.exited || this.closed || this.loads.get(worker) === undefined) return;
        this.options.emit({ type: 'worker_unhealthy', workerId: worker.id, reason: String(error) });
        worker.kill();
      });
    }
  }
}
