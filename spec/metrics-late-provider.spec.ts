/** A meter provider the application registers after createPool (a file of its own: the global provider is set once per process). */
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { expect, it, vi } from 'vitest';
import { withPool } from './support/pools.js';

it('reports the pool gauges of an idle pool once a meter provider is registered after createPool', async () => {
  await withPool({ size: 1 }, async (pool) => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const workers = async () => {
      exporter.reset();
      await reader.forceFlush();
      const gauge = exporter
        .getMetrics()
        .flatMap((resource) => resource.scopeMetrics)
        .flatMap((scope) => scope.metrics)
        .find((metric) => metric.descriptor.name === 'snakepit.pool.workers');
      return gauge?.dataPoints.find((point) => point.attributes['adapter'] === pool.adapter)?.value;
    };

    // No call is made: an autoscaler watches idle pools too.
    await vi.waitFor(async () => expect(await workers()).toBe(1), { timeout: 5_000, interval: 100 });
    await reader.shutdown();
  });
});
