import { SnakepitError } from './errors.js';
import type { Lease, WorkerPool } from './pool.js';
import type { WorkerProcess } from './worker-process.js';

export interface CallOptions {
  /** Milliseconds from subscription (or the `execute` call) to the end of the call, queueing included. Default 300000. */
  readonly timeout?: number;
  /** Calls with the same session prefer the worker that served the session before. */
  readonly sessionId?: string;
  /** Aborting cancels the call: the Python generator is closed and the call fails with `cancelled`. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 300_000;

export interface Cancellable {
  cancel(): void;
}

/**
 * What every call shares, streaming or not: it waits for a worker, holds it
 * until it ends, and can be ended from outside by its timeout, its abort
 * signal, the pool closing, or the consumer losing interest.
 */
export class CallScope {
  private lease: Lease | undefined;
  private running: Cancellable | undefined;
  private withdraw: () => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly onAbort = () =>
    this.abort(new SnakepitError('cancelled', 'the call was aborted', { cause: this.options.signal?.reason }));

  constructor(
    private readonly pool: WorkerPool,
    private readonly options: CallOptions,
    private readonly deliverError: (error: SnakepitError) => void,
    private readonly activeScopes: Set<CallScope>,
  ) {}

  /** Waits for a worker, then starts the call on it. */
  run(start: (worker: WorkerProcess) => Cancellable): void {
    const timeout = this.options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!(timeout > 0)) {
      this.abort(new SnakepitError('invalid_arguments', `timeout must be a positive number of milliseconds, got ${timeout}`));
      return;
    }
    if (this.options.signal?.aborted) {
      this.onAbort();
      return;
    }
    this.activeScopes.add(this);
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (Number.isFinite(timeout)) {
      this.timer = setTimeout(
        () => this.abort(new SnakepitError('timeout', `the call did not finish within ${timeout} ms`)),
        timeout,
      );
    }
    this.withdraw = this.pool.acquire(
      this.options.sessionId,
      (lease) => {
        if (this.ended) {
          lease.release();
          return;
        }
        this.lease = lease;
        this.running = start(lease.worker);
      },
      (error) => this.abort(error),
    );
  }

  /** The call ended by itself, successfully or not; its outcome is delivered by the caller. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.withdraw();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    clearTimeout(this.timer);
    this.activeScopes.delete(this);
    this.lease?.release();
  }

  /** Ends the call from outside and reports why. */
  abort(error: SnakepitError): void {
    if (this.ended) return;
    this.running?.cancel();
    this.end();
    this.deliverError(error);
  }

  /** Ends the call from outside without a word: its consumer is gone. */
  dispose(): void {
    if (this.ended) return;
    this.running?.cancel();
    this.end();
  }
}
