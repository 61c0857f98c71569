/**
 * A pool of the workers of examples/kubernetes/workers.yaml, from a pod in the
 * same cluster (with the token Secret in $SNAKEPIT_TOKEN):
 *
 *   SNAKEPIT_TOKEN=... npx tsx examples/kubernetes/pool-from-dns.ts
 *
 * The headless Service's name resolves to one address per ready worker pod.
 * The list is read once: after scaling the Deployment, create a new pool.
 */
import { createPool, resolveEndpoints } from 'snakepit-rx';

const service = process.env['SNAKEPIT_WORKERS'] ?? 'snakepit-workers.default.svc.cluster.local';
const pool = await createPool({
  adapter: 'ml_streaming_adapter.MLStreamingAdapter',
  endpoints: await resolveEndpoints(service, 50051),
  token: process.env['SNAKEPIT_TOKEN'],
});
try {
  await pool.executeStream('train_with_progress', { epochs: 3 }, (chunk) => console.log(chunk.data));
} finally {
  await pool.close();
}
