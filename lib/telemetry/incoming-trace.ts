import { openTelemetry } from './open-telemetry.js';

/**
 * Runs `run` in the trace context that an incoming request carries
 * (`traceparent`, `tracestate`: HTTP headers or gRPC metadata, read by the
 * global propagator), so that the pool calls it starts are children of the
 * caller's span. When a span is already active (an instrumentation of the
 * server made one from the same headers), that span is the parent instead.
 */
export function withIncomingTrace<T>(carrier: Readonly<Record<string, unknown>>, run: () => T): T {
  const api = openTelemetry();
  if (api === undefined) return run();
  const active = api.context.active();
  if (api.trace.getSpan(active) !== undefined) return run();
  return api.context.with(api.propagation.extract(active, carrier), run);
}
