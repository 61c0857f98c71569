import type { SnakepitError } from '../errors.js';

/** Why a call was ended from outside. */
export type CancelReason = 'unsubscribed' | 'aborted' | 'timeout' | 'pool_closed';

/** How a call ended, as its `call_finished` event reports it. */
export interface CallSummary {
  readonly outcome: 'completed' | 'failed' | 'cancelled';
  readonly error: SnakepitError | undefined;
  readonly cancelReason: CancelReason | undefined;
  readonly durationMs: number;
  /** From the start of the call until it had a worker, or until it ended without one. */
  readonly queueWaitMs: number;
  readonly chunks: number;
  /** Payload bytes received from the worker: chunks' data (JSON text or binary) or the result, with the binary values inside them (attachments). */
  readonly bytes: number;
}
