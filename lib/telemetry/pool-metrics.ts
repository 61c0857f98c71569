import type { Counter, Histogram, Meter, MeterProvider } from '@opentelemetry/api';
import type { PoolStats } from '../public-types.js';
import type { CallSummary } from './call-summary.js';
import type { OpenTelemetryApi } from './open-telemetry.js';

/** The instrumentation scope of every span and metric snakepit-rx makes. */
export const INSTRUMENTATION_SCOPE = 'snakepit-rx';

/** Bucket boundaries, in ms, from sub-millisecond queue waits to five-minute calls. */
const MS_BUCKETS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000];

/** What the pool gauges read from a live pool. */
export interface GaugeSource {
  readonly adapter: string;
  stats(): PoolStats;
}

/** The pools whose gauges are observed: every pool of this process that is open. */
const observedPools = new Set<GaugeSource>();
/** Every adapter a pool served: once its pools are closed, it reports 0 rather than its last values. */
const observedAdapters = new Set<string>();

export function observePool(source: GaugeSource): () => void {
  observedPools.add(source);
  observedAdapters.add(source.adapter);
  return () => observedPools.delete(source);
}

/** The instruments of one meter provider, shared by every pool of the process. */
export class PoolMetrics {
  private readonly duration: Histogram;
  private readonly queueWait: Histogram;
  private readonly chunks: Counter;
  private readonly bytes: Counter;
  private readonly errors: Counter;
  private readonly restarts: Counter;

  constructor(meter: Meter) {
    const advice = { explicitBucketBoundaries: MS_BUCKETS };
    this.duration = meter.createHistogram('snakepit.call.duration', {
      description: 'Duration of calls, from subscription to their end, queueing included',
      unit: 'ms',
      advice,
    });
    this.queueWait = meter.createHistogram('snakepit.call.queue_wait', {
      description: 'Time calls waited for a worker',
      unit: 'ms',
      advice,
    });
    this.chunks = meter.createCounter('snakepit.chunks', { description: 'Chunks delivered to consumers', unit: '{chunk}' });
    this.bytes = meter.createCounter('snakepit.bytes', { description: 'Payload bytes received from workers', unit: 'By' });
    this.errors = meter.createCounter('snakepit.errors', { description: 'Calls that ended with an error', unit: '{call}' });
    this.restarts = meter.createCounter('snakepit.worker.restarts', {
      description: 'Workers started to replace others',
      unit: '{worker}',
    });
    const workers = meter.createObservableGauge('snakepit.pool.workers', { description: 'Workers alive', unit: '{worker}' });
    const busy = meter.createObservableGauge('snakepit.pool.busy', { description: 'Workers running a call', unit: '{worker}' });
    const queued = meter.createObservableGauge('snakepit.pool.queued', { description: 'Calls waiting for a worker', unit: '{call}' });
    meter.addBatchObservableCallback(
      (result) => {
        // Pools of one adapter add up: they are one fleet to an autoscaler, and one series each.
        const totals = new Map([...observedAdapters].map((adapter) => [adapter, { workers: 0, busy: 0, queued: 0 }]));
        for (const pool of observedPools) {
          const stats = pool.stats();
          const total = totals.get(pool.adapter)!;
          total.workers += stats.workers;
          total.busy += stats.busy;
          total.queued += stats.queued;
        }
        for (const [adapter, total] of totals) {
          result.observe(workers, total.workers, { adapter });
          result.observe(busy, total.busy, { adapter });
          result.observe(queued, total.queued, { adapter });
        }
      },
      [workers, busy, queued],
    );
  }

  recordCall(tool: string, summary: CallSummary): void {
    const { outcome, error } = summary;
    this.duration.record(summary.durationMs, { tool, outcome });
    this.queueWait.record(summary.queueWaitMs, { tool, outcome });
    if (summary.chunks > 0) this.chunks.add(summary.chunks, { tool });
    if (summary.bytes > 0) this.bytes.add(summary.bytes, { tool });
    if (error !== undefined) this.errors.add(1, { code: error.code });
  }

  workerRestarted(): void {
    this.restarts.add(1);
  }
}

const metricsByProvider = new WeakMap<MeterProvider, PoolMetrics>();

/**
 * The instruments of the global meter provider, made on first use. Looked up
 * at each use (a global read and a WeakMap lookup), so that a provider the
 * application registers after creating its pools is the one that records.
 */
export function poolMetrics(api: OpenTelemetryApi): PoolMetrics {
  const provider = api.metrics.getMeterProvider();
  let metrics = metricsByProvider.get(provider);
  if (metrics === undefined) {
    metrics = new PoolMetrics(provider.getMeter(INSTRUMENTATION_SCOPE));
    metricsByProvider.set(provider, metrics);
  }
  return metrics;
}
