import type { Context } from '@opentelemetry/api';
import { openTelemetry, reportingFailures, type OpenTelemetryApi } from './open-telemetry.js';

/**
 * Runs `run` in the trace context that an incoming request carries
 * (`traceparent`, `tracestate`: HTTP headers or gRPC metadata, read by the
 * global propagator), so that the pool calls it starts are children of the
 * caller's span. A span already active is the parent instead when the
 * request names the same trace (an instrumentation of the server made it from
 * the same headers) or none; a span of another trace is not, as Node carries
 * the context a server was started in into every request it serves.
 */
export function withIncomingTrace<T>(carrier: Readonly<Record<string, unknown>>, run: () => T): T {
  const api = openTelemetry();
  if (api === undefined) return run();
  const parent = reportingFailures(api, "reading a request's trace context", () => incomingParent(api, carrier), undefined);
  return parent === undefined ? run() : api.context.with(parent, run);
}

/** The context the request's calls run in, or undefined to keep the active one. */
function incomingParent(api: OpenTelemetryApi, carrier: Readonly<Record<string, unknown>>): Context | undefined {
  const active = api.context.active();
  const activeTrace = api.trace.getSpanContext(active)?.traceId;
  if (activeTrace !== undefined) {
    const incoming = api.trace.getSpanContext(api.propagation.extract(api.ROOT_CONTEXT, carrier));
    if (incoming === undefined || incoming.traceId === activeTrace) return undefined;
  }
  return api.propagation.extract(active, carrier);
}
