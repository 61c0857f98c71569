import { Subject, type Observable } from 'rxjs';
import type { SnakepitError, SnakepitErrorCode } from '../errors.js';

/** What `pool.events$` reports. Every event carries `at`, a `Date.now()` timestamp. */
export type PoolEvent = PoolEventInit & {
  /** When it happened, as `Date.now()`. */
  readonly at: number;
};

/** A pool event without its timestamp. */
export type PoolEventInit =
  | { readonly type: 'worker_started'; readonly workerId: string; readonly pid: number | undefined; readonly startupMs: number }
  | {
      readonly type: 'worker_exited';
      readonly workerId: string;
      readonly code: number | null;
      readonly signal: string | null;
      /** False for a crash, a kill by the pool (hung tool, failed health check) or a lost endpoint. */
      readonly expected: boolean;
    }
  | { readonly type: 'worker_restarted'; readonly workerId: string; readonly replaced: string; readonly attempt: number }
  | { readonly type: 'worker_restart_failed'; readonly replaced: string; readonly attempt: number; readonly error: SnakepitError }
  | { readonly type: 'worker_recycled'; readonly workerId: string; readonly reason: 'max_calls' | 'ttl' }
  | { readonly type: 'worker_unhealthy'; readonly workerId: string; readonly reason: string }
  | { readonly type: 'worker_killed'; readonly workerId: string; readonly reason: 'ignored_cancellation' }
  | { readonly type: 'pool_degraded'; readonly error: SnakepitError }
  | { readonly type: 'call_queued'; readonly callId: string; readonly tool: string; readonly queueLength: number }
  | { readonly type: 'call_started'; readonly callId: string; readonly tool: string; readonly workerId: string; readonly queuedMs: number }
  | {
      readonly type: 'call_finished';
      readonly callId: string;
      readonly tool: string;
      /** Undefined when the call ended before it got a worker. */
      readonly workerId: string | undefined;
      readonly durationMs: number;
      readonly chunks: number;
      /** `cancelled`: the consumer unsubscribed; an abort through a signal is `failed` with code `cancelled`. */
      readonly outcome: 'completed' | 'failed' | 'cancelled';
      readonly errorCode?: SnakepitErrorCode;
    };

/** The `type` of a pool event. */
export type PoolEventType = PoolEvent['type'];

/** A snapshot of the pool. */
export interface PoolStats {
  /** Workers alive now, busy or idle. */
  readonly workers: number;
  /** Workers running a call (or finishing a cancelled one). */
  readonly busy: number;
  /** Workers ready for a call. */
  readonly idle: number;
  /** Calls waiting for a worker. */
  readonly queued: number;
  /** Calls that got a worker, since the pool started. */
  readonly calls: number;
  /** Calls that ended with an error, since the pool started. */
  readonly errors: number;
  /** Workers started to replace others, since the pool started. */
  readonly restarts: number;
  /** True once a worker could not be replaced after repeated attempts. */
  readonly degraded: boolean;
}

/** Where a pool's events come from: the one place that stamps their time. */
export class PoolEventSource {
  private readonly subject = new Subject<PoolEvent>();
  /** Hot: what happens from subscription on; completes when the pool closes. */
  readonly events$: Observable<PoolEvent> = this.subject.asObservable();

  /** Reports an event, stamped with `Date.now()`. */
  readonly emit = (event: PoolEventInit): void => {
    this.subject.next({ ...event, at: Date.now() });
  };

  complete(): void {
    this.subject.complete();
  }
}
