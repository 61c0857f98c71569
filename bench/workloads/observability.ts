/**
 * Workload 14: what OpenTelemetry costs. Small-chunk throughput of `pool.stream()`
 * untraced (the API installed, no SDK registered), with Node's SDK and an in-memory
 * exporter and reader registered, and with the worker's SDK configured too; the
 * per-call cost of the telemetry itself, without and with an SDK; and a worker's
 * start without an SDK (OpenTelemetry never imported) and with one configured in
 * the adapter's module.
 */
import { context as otelContext, metrics, propagation, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { PoolTelemetry } from '../../lib/telemetry/pool-telemetry.js';
import { startBenchPool, type BenchPool } from '../support/bench-pool.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { measureInTurns, measureRates, nowMs } from '../support/timing.js';
import { streamSmall } from '../support/small-streams.js';

const TRACED_ADAPTER = 'traced_bench_adapter.TracedBenchAdapter';
const TELEMETRY_ITERATIONS = 100_000;

/**
 * Node's SDK as an application sets it up (spans batched), exporting to memory;
 * registered only while a traced path runs, so that other workloads stay untraced.
 */
class InMemorySdk {
  readonly spans = new InMemorySpanExporter();
  private readonly tracerProvider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(this.spans)] });
  private readonly reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  private readonly meterProvider = new MeterProvider({ readers: [this.reader] });

  async during<T>(work: () => Promise<T>): Promise<T> {
    this.tracerProvider.register();
    metrics.setGlobalMeterProvider(this.meterProvider);
    let result: T;
    try {
      result = await work();
      // Exported and read once per run, as the batch processor and a periodic reader would.
      await Promise.all([this.tracerProvider.forceFlush(), this.reader.forceFlush()]);
    } finally {
      trace.disable();
      otelContext.disable();
      propagation.disable();
      metrics.disable();
    }
    if (this.spans.getFinishedSpans().length === 0) throw new Error('the SDK exported no span');
    this.spans.reset();
    return result;
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.tracerProvider.shutdown(), this.meterProvider.shutdown()]);
  }
}

/** Nanoseconds one call's telemetry takes: its span started and ended, its metrics recorded. */
async function telemetryNsPerCall(): Promise<number> {
  const telemetry = await PoolTelemetry.create();
  const started = nowMs();
  for (let index = 0; index < TELEMETRY_ITERATIONS; index++) {
    const call = telemetry.startCall({ kind: 'stream', tool: 'small', callId: `bench-${index}`, sessionId: undefined });
    call.started('worker-1', 0.1);
    call.firstChunk();
    call.finished({
      outcome: 'completed',
      error: undefined,
      cancelReason: undefined,
      durationMs: 1,
      queueWaitMs: 0.1,
      chunks: 10,
      bytes: 500,
    });
  }
  return ((nowMs() - started) * 1e6) / TELEMETRY_ITERATIONS;
}

async function workerStartMs(adapter: string | undefined): Promise<{ ms: number; loaded: boolean }> {
  const started = nowMs();
  const bench = await startBenchPool(1, { adapter });
  const ms = nowMs() - started;
  try {
    return { ms, loaded: await bench.pool.execute<boolean>('opentelemetry_loaded') };
  } finally {
    await bench.close();
  }
}

export const observability: Workload = {
  name: 'observability',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const sdk = new InMemorySdk();
    let traced: BenchPool | undefined;
    try {
      traced = await startBenchPool(1, { adapter: TRACED_ADAPTER });
      const tracedPool = traced.pool;
      const paths: Record<string, (count: number) => Promise<number>> = {
        '(c) untraced (API, no SDK)': (count) => streamSmall(pool, count),
        '(c) Node SDK, in-memory exporter': (count) => sdk.during(() => streamSmall(pool, count)),
        '(c) Node and worker SDKs': (count) => sdk.during(() => streamSmall(tracedPool, count)),
      };
      const count = config.smallChunks;
      const rates = await measureRates(paths, {
        name: 'traced small chunks',
        warmup: 1,
        runs: config.runs,
        progress: context.progress,
        size: (_, turn) => (turn.warmup ? Math.max(2000, Math.floor(count / 5)) : count),
      });
      const workerSpans = await tracedPool.execute<number>('exported_spans');
      if (workerSpans === 0) throw new Error('the traced worker exported no span');

      context.progress('observability: telemetry per call');
      const perCall = await measureInTurns(
        {
          'no SDK': () => telemetryNsPerCall(),
          'SDK, in-memory exporter': () => sdk.during(() => telemetryNsPerCall()),
        },
        { name: 'telemetry per call', warmup: 1, runs: config.runs, progress: context.progress },
      );

      const starts = await measureInTurns(
        { 'no SDK': () => workerStartMs(undefined), 'SDK in the adapter module': () => workerStartMs(TRACED_ADAPTER) },
        { name: 'worker start', warmup: 1, runs: config.runs, progress: context.progress },
      );
      if (starts['no SDK']!.some((start) => start.loaded)) throw new Error('a worker without an SDK imported OpenTelemetry');

      const medians = Object.fromEntries(Object.entries(rates).map(([path, samples]) => [path, median(samples)]));
      const untraced = medians['(c) untraced (API, no SDK)']!;
      const throughputRow = (path: string): Row => {
        const value = medians[path]!;
        const row: Row = { workload: '14 tracing, small chunks', path, unit: 'chunks/s', median: value };
        if (path === '(c) untraced (API, no SDK)') return row;
        return { ...row, ratio: formatRatio(value / untraced, 'untraced'), target: '≥0.95× untraced', pass: value >= 0.95 * untraced };
      };
      const ns = (path: string) => median(perCall[path]!);
      const startMs = (path: string) => median(starts[path]!.map((start) => start.ms));
      return {
        name: 'observability',
        rows: [
          ...Object.keys(paths).map(throughputRow),
          { workload: '14 telemetry per call', path: 'no SDK registered', unit: 'ns', median: ns('no SDK') },
          {
            workload: '14 telemetry per call',
            path: 'SDK, in-memory exporter',
            unit: 'ns',
            median: ns('SDK, in-memory exporter'),
            ratio: formatRatio(ns('SDK, in-memory exporter') / ns('no SDK'), 'no SDK'),
          },
          {
            workload: '14 worker start',
            path: 'createPool size 1, no SDK (OpenTelemetry not imported)',
            unit: 'ms',
            median: startMs('no SDK'),
          },
          {
            workload: '14 worker start',
            path: 'createPool size 1, SDK in the adapter module',
            unit: 'ms',
            median: startMs('SDK in the adapter module'),
            ratio: formatRatio(startMs('SDK in the adapter module') / startMs('no SDK'), 'no SDK'),
          },
        ],
        raw: { count, runs: config.runs, chunksPerSecond: rates, medians, telemetryNsPerCall: perCall, workerStarts: starts, workerSpans },
      };
    } finally {
      await traced?.close();
      await sdk.shutdown();
    }
  },
};
