/**
 * One trace from Node into Python, exported to an OTLP endpoint (an
 * OpenTelemetry Collector, Jaeger, Grafana Tempo...): Node's SDK exports the
 * pool's spans and metrics over OTLP/HTTP, and the worker's adapter module
 * (adapters/traced_training_adapter.py) exports the tool's spans to the same
 * endpoint. Python's log records arrive as `log` events carrying the trace id.
 *
 * Needs: npm install @opentelemetry/api @opentelemetry/sdk-trace-node @opentelemetry/sdk-metrics
 *        @opentelemetry/exporter-trace-otlp-http @opentelemetry/exporter-metrics-otlp-http
 *   (development dependencies of this repository), and on the Python side
 *   opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http (in .venv).
 *
 * Run: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npx tsx examples/opentelemetry/otlp-export.ts
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { lastValueFrom, toArray } from 'rxjs';
import { chunkData, createPool, type WorkerLog } from 'snakepit-rx';
import { examplePoolOptions, isMain } from '../shared.js';

export interface TracedRun {
  /** The trace every span of the run belongs to. */
  readonly traceId: string;
  /** What the tool yielded. */
  readonly epochs: unknown[];
  /** The worker's log records of the run. */
  readonly logs: WorkerLog[];
}

/**
 * Sets up Node's SDK (the exporters read OTEL_EXPORTER_OTLP_ENDPOINT, default
 * http://localhost:4318), registers it before creating the pool, as an
 * application does, runs one traced training, and shuts everything down,
 * which exports what is left.
 */
export async function exportTracedTraining(print: (line: string) => void = console.log): Promise<TracedRun> {
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  tracerProvider.register();
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: 60_000 })],
  });
  metrics.setGlobalMeterProvider(meterProvider);

  const pool = await createPool(examplePoolOptions('traced_training_adapter.TracedTrainingAdapter', { logLevel: 'INFO' }));
  const logs: WorkerLog[] = [];
  pool.events$.subscribe((event) => {
    if (event.type !== 'log') return;
    logs.push(event);
    print(`[python ${event.level}] ${event.message} (trace ${event.traceId ?? 'none'})`);
  });
  try {
    const tracer = trace.getTracer('example');
    const span = tracer.startSpan('train model');
    const epochs = await context.with(trace.setSpan(context.active(), span), () =>
      lastValueFrom(pool.stream('train_with_progress', { epochs: 3 }).pipe(chunkData(), toArray())),
    );
    span.end();
    const { traceId } = span.spanContext();
    print(`trace ${traceId}: ${epochs.length} chunks`);
    return { traceId, epochs, logs };
  } finally {
    // The worker exports its spans as it stops; then Node's providers export theirs.
    await pool.close();
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    trace.disable();
    metrics.disable();
  }
}

if (isMain(import.meta.url)) await exportTracedTraining();
