import type { Span } from '@opentelemetry/api';
import type { CallSummary } from './call-summary.js';
import type { PoolMetrics } from './pool-metrics.js';
import { reportingFailures, type OpenTelemetryApi } from './open-telemetry.js';

/** What one call reports to tracing and metrics; every method costs next to nothing without an SDK. */
export interface CallTelemetry {
  /** The call's trace context for the worker, as gRPC metadata (`traceparent`, `tracestate`); empty without one. */
  readonly headers: Readonly<Record<string, string>>;
  /** The call has a worker. */
  started(workerId: string, queueWaitMs: number): void;
  /** The first chunk reached the consumer. */
  firstChunk(): void;
  /** The call is over; ends its span and records its metrics. */
  finished(summary: CallSummary): void;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A call when `@opentelemetry/api` is not installed. */
export const UNOBSERVED_CALL: CallTelemetry = Object.freeze({
  headers: NO_HEADERS,
  started: () => {},
  firstChunk: () => {},
  finished: () => {},
});

/** The span of one call (`snakepit.stream` or `snakepit.execute`) and the metrics it records when it ends. */
export class ObservedCall implements CallTelemetry {
  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly span: Span,
    readonly headers: Readonly<Record<string, string>>,
    private readonly tool: string,
    private readonly metrics: PoolMetrics,
  ) {}

  started(workerId: string, queueWaitMs: number): void {
    reportingFailures(
      this.api,
      'recording the worker on the span',
      () => {
        if (this.span.isRecording()) this.span.setAttributes({ 'snakepit.worker_id': workerId, 'snakepit.queue_wait_ms': queueWaitMs });
      },
      undefined,
    );
  }

  firstChunk(): void {
    reportingFailures(this.api, 'recording the first chunk', () => void this.span.addEvent('snakepit.first_chunk'), undefined);
  }

  finished(summary: CallSummary): void {
    reportingFailures(this.api, 'ending the span', () => this.endSpan(summary), undefined);
    reportingFailures(this.api, 'recording the call metrics', () => this.metrics.recordCall(this.tool, summary), undefined);
  }

  private endSpan(summary: CallSummary): void {
    const { span } = this;
    if (span.isRecording()) {
      const { error, cancelReason } = summary;
      span.setAttributes({
        'snakepit.outcome': summary.outcome,
        'snakepit.chunks': summary.chunks,
        'snakepit.bytes': summary.bytes,
        ...(error === undefined ? {} : { 'snakepit.error_code': error.code }),
        ...(cancelReason === undefined ? {} : { 'snakepit.cancel_reason': cancelReason }),
      });
      // A call its caller aborted did not fail: its span keeps the status unset, as OpenTelemetry advises.
      if (error !== undefined && error.code !== 'cancelled') {
        span.recordException({ name: error.pythonType ?? error.code, message: error.message, stack: error.pythonTraceback });
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
      }
    }
    span.end();
  }
}
