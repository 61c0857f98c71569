import type { SnakepitError } from '../errors.js';
import type { PoolEventInit } from '../public-types.js';
import type { PoolTelemetry } from '../telemetry/pool-telemetry.js';
import type { WorkerPool } from '../pool/worker-pool.js';

/** A call as its registry tracks it. */
export interface RegisteredCall {
  /** True until the call has a worker. */
  readonly waiting: boolean;
  /** Ends the call from outside and reports why. */
  abort(error: SnakepitError): void;
}

/**
 * The calls of a pool, from `begin` (the call asks for a worker) to `end`
 * (it completed, failed or was cancelled), and what they report to: the
 * pool's workers, its events and its error count. `idle()` is how
 * `close({ drain })` waits for running calls.
 */
export class CallRegistry {
  private readonly active = new Set<RegisteredCall>();
  private idleListeners: (() => void)[] = [];
  private errorCount = 0;

  constructor(
    readonly workers: WorkerPool,
    readonly sessionAffinity: 'prefer' | 'strict',
    /** Reports a pool event; the pool stamps its time. */
    readonly emit: (event: PoolEventInit) => void,
    /** Where calls report their spans and metrics. */
    readonly telemetry: PoolTelemetry,
  ) {}

  /** Calls that ended with an error, whether or not they began. */
  get errors(): number {
    return this.errorCount;
  }

  begin(call: RegisteredCall): void {
    this.active.add(call);
  }

  /** The call is over (`failed`: with an error); the last running call to end makes the registry idle. */
  end(call: RegisteredCall, failed: boolean): void {
    if (failed) this.errorCount += 1;
    if (!this.active.delete(call) || this.active.size > 0) return;
    const listeners = this.idleListeners;
    this.idleListeners = [];
    for (const listener of listeners) listener();
  }

  /** Aborts the calls still waiting for a worker, or (`all`) every call. */
  abort(which: 'waiting' | 'all', error: () => SnakepitError): void {
    for (const call of [...this.active]) if (which === 'all' || call.waiting) call.abort(error());
  }

  /** Resolves once no call is running: at once if none is, else when the last one ends. */
  idle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleListeners.push(resolve));
  }
}
