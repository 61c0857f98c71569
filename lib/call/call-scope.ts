import { SnakepitError } from '../errors.js';
import type { Lease } from '../pool/lease-queue.js';
import type { CallOptions } from '../public-types.js';
import { timeoutRefusal } from '../timer-limit.js';
import type { CancelReason } from '../telemetry/call-summary.js';
import type { CallTelemetry } from '../telemetry/call-telemetry.js';
import type { CallKind } from '../telemetry/pool-telemetry.js';
import type { NotRun } from './call-failure.js';
import type { CallRegistry, RegisteredCall } from './call-registry.js';
import type { Worker } from '../worker/worker.js';

export const DEFAULT_TIMEOUT_MS = 300_000;

/** @internal What the library's own layers may ask of a call besides its public options. */
export interface InternalCallOptions extends CallOptions {
  /** Called when the call gets a worker: it has left the queue, and what fails from then on is its run. */
  readonly onWorker?: () => void;
}

export interface Cancellable {
  cancel(): void;
}

/** The error codes of a call ended from outside that cancel its tool, by the reason its span records. */
const CANCEL_REASONS: Partial<Record<SnakepitError['code'], CancelReason>> = {
  cancelled: 'aborted',
  timeout: 'timeout',
  pool_closed: 'pool_closed',
};

/** Why a call's options cannot be used (plain JavaScript may pass anything); undefined when they can. */
function refusalOf({ timeout, signal, sessionAffinity }: CallOptions): string | undefined {
  if (signal !== undefined && !isAbortSignal(signal)) return `signal must be an AbortSignal, got ${typeof signal}`;
  if (sessionAffinity !== undefined && sessionAffinity !== 'prefer' && sessionAffinity !== 'strict') {
    return `sessionAffinity must be 'prefer' or 'strict', got ${String(sessionAffinity)}`;
  }
  return timeoutRefusal(timeout, true);
}

/** An AbortSignal, or one of another realm's: what the call uses of it. */
function isAbortSignal(value: unknown): value is AbortSignal {
  const candidate = value as Partial<AbortSignal> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.aborted === 'boolean' &&
    typeof candidate.addEventListener === 'function' &&
    typeof candidate.removeEventListener === 'function'
  );
}

/**
 * What every call shares, streaming or not: it waits for a worker, holds it
 * until it ends, and can be ended from outside by its timeout, its abort
 * signal, the pool closing, or the consumer losing interest. A call ended
 * from outside hands its worker back only once the tool has stopped.
 */
export class CallScope implements RegisteredCall {
  private lease: Lease | undefined;
  private running: Cancellable | undefined;
  private start: ((worker: Worker, traceHeaders: Readonly<Record<string, string>>) => Cancellable) | undefined;
  private retried = false;
  /** Whether the call listens to its signal: not if its options were refused. */
  private listening = false;
  private withdraw: () => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private chunks = 0;
  private finalDelivered = false;
  private bytes = 0;
  private queueWaitMs: number | undefined;
  private readonly createdAt = performance.now();
  private readonly telemetry: CallTelemetry;
  private readonly onAbort = () =>
    this.abort(new SnakepitError('cancelled', 'the call was aborted', { cause: this.options.signal?.reason }));

  constructor(
    private readonly registry: CallRegistry,
    readonly callId: string,
    private readonly tool: string,
    private readonly options: InternalCallOptions,
    private readonly deliverError: (error: SnakepitError) => void,
    kind: CallKind,
  ) {
    this.telemetry = registry.telemetry.startCall({ kind, tool, callId, sessionId: options.sessionId });
  }

  /** True until the call has a worker. */
  get waiting(): boolean {
    return this.lease === undefined;
  }

  /**
   * Waits for a worker, then starts the call on it: not at once, but after
   * the code that subscribed has run to its end. A consumer that unsubscribes
   * in the same tick (`switchMap` from a `BehaviorSubject` does) has then
   * cancelled a call that never left, and the worker goes back untouched.
   * A whole turn of the event loop rather than a microtask, because grpc-js
   * loses a cancel that comes before a started call's stream exists, and the
   * stream is made in the microtasks that follow the start: once the start
   * has run in a turn of its own, no code of ours can cancel in between.
   * `traceHeaders` go to the worker as gRPC metadata.
   */
  run(start: (worker: Worker, traceHeaders: Readonly<Record<string, string>>) => Cancellable): void {
    const refusal = refusalOf(this.options);
    if (refusal !== undefined) {
      this.abort(new SnakepitError('invalid_arguments', refusal));
      return;
    }
    const timeout = this.options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (this.options.signal?.aborted) {
      this.onAbort();
      return;
    }
    this.registry.begin(this);
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.listening = true;
    if (Number.isFinite(timeout)) {
      this.timer = setTimeout(() => this.abort(new SnakepitError('timeout', `the call did not finish within ${timeout} ms`)), timeout);
    }
    this.start = start;
    this.acquire();
  }

  /**
   * Runs the call again on another worker, once: for a call whose worker
   * died before its tool could run (`lost`: it waits for a worker as any
   * call does), or whose endpoint refused it (`refused`: only when another
   * worker is in service, else it fails with `error` rather than wait for
   * the endpoint to recover). Returns false when the call has ended or was
   * already retried; the caller then reports the error.
   */
  retry(error: SnakepitError, why: NotRun): boolean {
    if (this.ended || this.retried) return false;
    this.retried = true;
    const { lease } = this;
    this.lease = undefined;
    this.running = undefined;
    // Once the failure is handled: a refusing endpoint is taken out of service right after it (reportFailure).
    queueMicrotask(() => {
      // The worker is out of service: releasing it hands it to nobody.
      lease?.release();
      if (this.ended) return;
      if (why === 'refused' && this.registry.workers.slots === 0) this.abort(error);
      else this.acquire();
    });
    return true;
  }

  private acquire(): void {
    this.withdraw = this.registry.workers.acquire(
      {
        callId: this.callId,
        tool: this.tool,
        sessionId: this.options.sessionId,
        sessionAffinity: this.options.sessionAffinity ?? this.registry.sessionAffinity,
      },
      (lease) => {
        if (this.ended) {
          lease.release();
          return;
        }
        this.lease = lease;
        const queuedMs = performance.now() - this.createdAt;
        this.queueWaitMs = queuedMs;
        this.registry.emit({ type: 'call_started', callId: this.callId, tool: this.tool, workerId: lease.worker.id, queuedMs });
        this.telemetry.started(lease.worker.id, queuedMs);
        this.options.onWorker?.();
        setImmediate(() => {
          if (!this.ended && this.lease === lease) this.running = this.start?.(lease.worker, this.telemetry.headers);
        });
      },
      (error) => this.abort(error),
    );
  }

  /** Counts a chunk delivered, for the call's `call_finished` event and its span. */
  countChunk(isFinal: boolean): void {
    if (this.chunks++ === 0) this.telemetry.firstChunk();
    if (isFinal) this.finalDelivered = true;
  }

  /** Counts payload bytes received from the worker, for the call's span and metrics. */
  countBytes(bytes: number): void {
    this.bytes += bytes;
  }

  /** The worker is done with the call, though its outcome is not delivered yet: it serves the next call. */
  releaseWorker(): void {
    this.lease?.release();
  }

  /** The call ended by itself; its outcome is delivered by the caller. */
  complete(): void {
    if (this.finish('completed')) this.lease?.release();
  }

  /** The call ended by itself with an error, which the caller delivers. */
  fail(error: SnakepitError): void {
    if (this.finish('failed', error)) this.lease?.release();
  }

  /** Ends the call from outside and reports why. */
  abort(error: SnakepitError): void {
    if (!this.finish('failed', error, CANCEL_REASONS[error.code])) return;
    const delivered = this.ofThisCall(error);
    this.cancelRunning();
    this.deliverError(delivered);
  }

  /** An error from outside (the pool closing, a timeout, a signal), with the call's tool, and its worker if it had one. */
  private ofThisCall(error: SnakepitError): SnakepitError {
    const workerId = error.workerId ?? this.lease?.worker.id;
    if (error.tool !== undefined && error.workerId === workerId) return error;
    return new SnakepitError(error.code, error.message, {
      pythonType: error.pythonType,
      pythonTraceback: error.pythonTraceback,
      hint: error.hint,
      cause: error.cause,
      tool: error.tool ?? this.tool,
      workerId,
    });
  }

  /**
   * Ends the call from outside without a word: its consumer is gone. One that leaves once it has the final
   * chunk (`takeUntilFinal()`) has the whole stream: the call completed, though the worker may still be
   * closing the generator, which the cancel does not change.
   */
  dispose(): void {
    const ended = this.finalDelivered ? this.finish('completed') : this.finish('cancelled', undefined, 'unsubscribed');
    if (ended) this.cancelRunning();
  }

  private cancelRunning(): void {
    if (this.running === undefined) {
      // Nothing was sent: the worker never heard of the call.
      this.lease?.release();
      return;
    }
    this.running.cancel();
    this.lease?.releaseAfterCancel(this.callId);
  }

  private finish(outcome: 'completed' | 'failed' | 'cancelled', error?: SnakepitError, cancelReason?: CancelReason): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.withdraw();
    if (this.listening) this.options.signal?.removeEventListener('abort', this.onAbort);
    clearTimeout(this.timer);
    const durationMs = performance.now() - this.createdAt;
    const { chunks } = this;
    this.registry.emit({
      type: 'call_finished',
      callId: this.callId,
      tool: this.tool,
      workerId: this.lease?.worker.id,
      durationMs,
      chunks,
      outcome,
      ...(error === undefined ? {} : { errorCode: error.code }),
    });
    this.telemetry.finished({
      outcome,
      error,
      cancelReason,
      durationMs,
      queueWaitMs: this.queueWaitMs ?? durationMs,
      chunks,
      bytes: this.bytes,
    });
    this.registry.end(this, error !== undefined);
    return true;
  }
}
