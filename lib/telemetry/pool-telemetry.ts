import { ObservedCall, UNOBSERVED_CALL, type CallTelemetry } from './call-telemetry.js';
import { INSTRUMENTATION_SCOPE, observePool, poolMetrics, type GaugeSource } from './pool-metrics.js';
import { loadOpenTelemetry, reportingFailures, type OpenTelemetryApi } from './open-telemetry.js';

/** How often an open pool looks for a meter provider registered after it was created, in ms. */
const METER_PROVIDER_LOOKUP_MS = 1_000;

/** What a call is: a stream (`stream`, `executeStream`, `iterate`) or a unary `execute`. */
export type CallKind = 'stream' | 'execute';

/** The identity of a call, as its span carries it. */
export interface CallIdentity {
  readonly kind: CallKind;
  readonly tool: string;
  readonly callId: string;
  readonly sessionId: string | undefined;
}

/**
 * A pool's OpenTelemetry: a span per call, the call metrics, the pool gauges
 * and the restart counter, all through the application's global providers.
 * Without `@opentelemetry/api` installed it does nothing; with the API but no
 * SDK registered, the API's no-op providers record nothing.
 */
export class PoolTelemetry {
  private stopObserving: () => void = () => {};

  private constructor(private readonly api: OpenTelemetryApi | undefined) {}

  static async create(): Promise<PoolTelemetry> {
    return new PoolTelemetry(await loadOpenTelemetry());
  }

  /** The pool gauges report the pool from now on, until `close()`. */
  observe(pool: GaugeSource): void {
    const { api } = this;
    if (api === undefined) return;
    const stopReporting = observePool(pool);
    // The gauges are made now, so that they report the pool before its first call, and again for a meter
    // provider registered later: the API says nothing when one is, and an idle pool makes no call to notice.
    const lookUp = () => reportingFailures(api, 'making the pool gauges', () => void poolMetrics(api), undefined);
    lookUp();
    const timer = setInterval(lookUp, METER_PROVIDER_LOOKUP_MS).unref();
    this.stopObserving = () => {
      clearInterval(timer);
      stopReporting();
    };
  }

  /**
   * Starts a call's span, a child of the active context (the caller's span,
   * or the trace context a bridge or HTTP request brought).
   */
  startCall(call: CallIdentity): CallTelemetry {
    const { api } = this;
    if (api === undefined) return UNOBSERVED_CALL;
    return reportingFailures(api, 'starting the span', () => this.observedCall(api, call), UNOBSERVED_CALL);
  }

  private observedCall(api: OpenTelemetryApi, call: CallIdentity): CallTelemetry {
    const { trace, context, propagation } = api;
    const parent = context.active();
    const span = trace.getTracer(INSTRUMENTATION_SCOPE).startSpan(
      `snakepit.${call.kind}`,
      {
        kind: api.SpanKind.CLIENT,
        attributes: {
          'snakepit.tool': call.tool,
          'snakepit.call_id': call.callId,
          ...(call.sessionId === undefined ? {} : { 'snakepit.session_id': call.sessionId }),
        },
      },
      parent,
    );
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), headers);
    return new ObservedCall(api, span, headers, call.tool, poolMetrics(api));
  }

  workerRestarted(): void {
    const { api } = this;
    if (api !== undefined) reportingFailures(api, 'counting a restart', () => poolMetrics(api).workerRestarted(), undefined);
  }

  /** The pool closed: its gauges stop reporting it. */
  close(): void {
    this.stopObserving();
  }
}
