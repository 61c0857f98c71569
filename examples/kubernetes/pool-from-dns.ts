/**
 * A pool of the workers of examples/kubernetes/workers.yaml, from a pod in the
 * same cluster (with the token Secret in $SNAKEPIT_TOKEN):
 *
 *   SNAKEPIT_TOKEN=... npx tsx examples/kubernetes/pool-from-dns.ts
 *
 * `discover` follows the headless Service's name, which resolves to one
 * address per ready worker pod: pods that become ready join the pool (each
 * with the capacity its `--workers` gives it), pods that go away are drained.
 * Scale the Deployment by hand or with examples/kubernetes/autoscaling.yaml;
 * the pool follows without dropping a call.
 *
 * It also serves, on :9464/metrics, the figures an autoscaler follows: the
 * pool's OpenTelemetry gauges `snakepit.pool.busy`, `snakepit.pool.queued` and
 * `snakepit.pool.slots` (`busy`, `queued` and `slots` of `pool.stats()`),
 * through OpenTelemetry's Prometheus exporter, as `snakepit_pool_busy`,
 * `snakepit_pool_queued` and `snakepit_pool_slots`.
 *
 * Needs: npm install @opentelemetry/api @opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus
 *   (development dependencies of this repository).
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createPool } from 'snakepit-rx';

// Registered before the pool, as an application registers its SDK first.
const exporter = new PrometheusExporter({ port: 9464 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));

const service = process.env['SNAKEPIT_WORKERS'] ?? 'snakepit-workers.default.svc.cluster.local';
const pool = await createPool({
  adapter: 'ml_streaming_adapter.MLStreamingAdapter',
  discover: { dns: service, port: 50051 },
  token: process.env['SNAKEPIT_TOKEN'],
});
pool.events$.subscribe((event) => {
  if (event.type === 'endpoint_added' || event.type === 'endpoint_removed') {
    console.log(`${event.type}: ${event.endpoint} (${event.capacity} at once); the pool runs ${pool.size} calls at once`);
  }
});

try {
  await Promise.all(
    [1, 2, 3, 4].map((run) => pool.executeStream('train_with_progress', { epochs: 3 }, (chunk) => console.log(run, chunk.data))),
  );
} finally {
  await pool.close();
  await exporter.shutdown();
}
