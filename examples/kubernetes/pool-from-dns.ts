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
 * It also serves, on :9464/metrics, the figures an autoscaler follows
 * (`busy`, `queued`, `slots` of `pool.stats()`), under the names the
 * OpenTelemetry metrics `snakepit.pool.busy` and `snakepit.pool.queued` take
 * in Prometheus.
 */
import { createServer } from 'node:http';
import { createPool } from 'snakepit-rx';

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

const metrics = createServer((request, response) => {
  const { busy, queued, slots } = pool.stats();
  response.setHeader('content-type', 'text/plain; version=0.0.4');
  response.end(`snakepit_pool_busy ${busy}\nsnakepit_pool_queued ${queued}\nsnakepit_pool_slots ${slots}\n`);
}).listen(9464);

try {
  await Promise.all(
    [1, 2, 3, 4].map((run) => pool.executeStream('train_with_progress', { epochs: 3 }, (chunk) => console.log(run, chunk.data))),
  );
} finally {
  metrics.close();
  await pool.close();
}
