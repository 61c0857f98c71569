import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { markerEvents, markerPath, nextEvent, rejectionOf, waitUntil, withPool } from './support/pools.js';

// Registered before any pool exists, as an application registers its SDK first.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const ADAPTER = 'test_adapter.TestAdapter';

/** Every metric as the reader reads it now, by name. */
async function readMetrics(): Promise<Map<string, MetricData>> {
  exporter.reset();
  await reader.forceFlush();
  const found = new Map<string, MetricData>();
  for (const resource of exporter.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      if (scope.scope.name !== 'snakepit-rx') continue;
      for (const metric of scope.metrics) found.set(metric.descriptor.name, metric);
    }
  }
  return found;
}

/** The value of a counter or gauge for exactly these attributes (0 when it has no such point). */
function valueOf(metric: MetricData | undefined, attributes: Record<string, string>): number {
  const point = metric?.dataPoints.find((candidate) => JSON.stringify(candidate.attributes) === JSON.stringify(attributes));
  return typeof point?.value === 'number' ? point.value : 0;
}

/** How many values a histogram recorded for exactly these attributes. */
function countOf(metric: MetricData | undefined, attributes: Record<string, string>): number {
  expect(metric?.dataPointType).toBe(DataPointType.HISTOGRAM);
  const point = metric?.dataPoints.find((candidate) => JSON.stringify(candidate.attributes) === JSON.stringify(attributes));
  return point === undefined ? 0 : (point.value as { count: number }).count;
}

describe('metrics, read back through an in-memory reader', () => {
  it('are made by the instrumentation scope snakepit-rx, under their names, units and kinds', async () => {
    await withPool({ size: 1 }, (pool) => pool.execute('whoami'));
    const read = await readMetrics();

    for (const histogram of ['snakepit.call.duration', 'snakepit.call.queue_wait']) {
      expect(read.get(histogram)).toMatchObject({ descriptor: { unit: 'ms' }, dataPointType: DataPointType.HISTOGRAM });
    }
    expect(read.get('snakepit.bytes')).toMatchObject({ descriptor: { unit: 'By' }, dataPointType: DataPointType.SUM, isMonotonic: true });
    for (const gauge of ['snakepit.pool.workers', 'snakepit.pool.busy', 'snakepit.pool.queued']) {
      expect(read.get(gauge)?.dataPointType).toBe(DataPointType.GAUGE);
    }
  });

  it('calls: duration and queue wait by tool and outcome, chunks, bytes, errors by code', async () => {
    await withPool({ size: 1 }, async (pool) => {
      await lastValueFrom(pool.stream('count', { n: 5 }));
      await rejectionOf(pool.execute('raise_value_error', { message: 'no' }));
      await firstValueFrom(pool.stream('ticker', { marker: markerPath() }).pipe(take(2), toArray()));
      await pool.execute('add', { a: 1, b: 1 });
    });

    const read = await readMetrics();
    const duration = read.get('snakepit.call.duration');
    expect(duration?.descriptor).toMatchObject({ unit: 'ms' });
    expect(countOf(duration, { tool: 'count', outcome: 'completed' })).toBe(1);
    expect(countOf(duration, { tool: 'raise_value_error', outcome: 'failed' })).toBe(1);
    expect(countOf(duration, { tool: 'ticker', outcome: 'cancelled' })).toBe(1);
    expect(countOf(duration, { tool: 'add', outcome: 'completed' })).toBe(1);
    const queueWait = read.get('snakepit.call.queue_wait');
    expect(queueWait?.descriptor).toMatchObject({ unit: 'ms' });
    expect(countOf(queueWait, { tool: 'count', outcome: 'completed' })).toBe(1);

    expect(read.get('snakepit.chunks')?.dataPointType).toBe(DataPointType.SUM);
    // Five chunks and the synthetic final one.
    expect(valueOf(read.get('snakepit.chunks'), { tool: 'count' })).toBe(6);
    expect(valueOf(read.get('snakepit.chunks'), { tool: 'ticker' })).toBe(2);
    expect(valueOf(read.get('snakepit.bytes'), { tool: 'count' })).toBe('[{"seq":0},{"seq":1},{"seq":2},{"seq":3},{"seq":4}]'.length);
    expect(valueOf(read.get('snakepit.bytes'), { tool: 'add' })).toBe(1);
    expect(read.get('snakepit.errors')?.dataPoints).toEqual([expect.objectContaining({ attributes: { code: 'python_error' }, value: 1 })]);
  });

  it('the pool gauges: workers, busy and queued, per adapter, while the pool is open', async () => {
    const marker = markerPath();
    await withPool({ size: 1 }, async (pool) => {
      const running = pool.stream('ticker', { marker }).subscribe();
      await waitUntil(() => markerEvents(marker).includes('started'), 10_000, 'the ticker');
      const queued = pool.execute('add', { a: 1, b: 1 });
      try {
        const read = await readMetrics();
        expect(read.get('snakepit.pool.workers')?.dataPointType).toBe(DataPointType.GAUGE);
        expect(valueOf(read.get('snakepit.pool.workers'), { adapter: ADAPTER })).toBe(1);
        expect(valueOf(read.get('snakepit.pool.busy'), { adapter: ADAPTER })).toBe(1);
        expect(valueOf(read.get('snakepit.pool.queued'), { adapter: ADAPTER })).toBe(1);
      } finally {
        running.unsubscribe();
        await queued;
      }
    });

    // A closed pool has no workers: the adapter reports 0 rather than its last values.
    const afterClose = await readMetrics();
    expect(valueOf(afterClose.get('snakepit.pool.workers'), { adapter: ADAPTER })).toBe(0);
    expect(afterClose.get('snakepit.pool.workers')?.dataPoints).toHaveLength(1);
  });

  it('worker restarts', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const before = valueOf((await readMetrics()).get('snakepit.worker.restarts'), {});
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      const restarted = nextEvent(pool, 'worker_restarted');
      process.kill(pid, 'SIGKILL');
      await restarted;

      expect(valueOf((await readMetrics()).get('snakepit.worker.restarts'), {})).toBe(before + 1);
    });
  });
});
