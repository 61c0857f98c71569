/**
 * Workload 15: what the dispatcher of `serve --workers 2` costs. Remote
 * pools of two slots each, in the same run: (g) two single-process `serve`
 * endpoints, (h) one `serve --workers 2` endpoint, whose calls take one more
 * hop (the process owning the port relays each message to a worker
 * process). Aggregate throughput of two small-chunk streams at once, and a
 * unary round trip.
 */
import { randomBytes } from 'node:crypto';
import { createPool, type SnakepitPool } from 'snakepit-rx';
import { BENCH_ADAPTER } from '../support/bench-pool.js';
import { onCleanup } from '../support/cleanup.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { formatRatio, latencyRows } from '../support/report.js';
import { startServeEndpoint, type ServeEndpoint } from '../support/serve-endpoint.js';
import { distribution, median } from '../support/stats.js';
import { callsPerRun, measureInTurns, measureRates, nowMs } from '../support/timing.js';
import { streamSmall } from '../support/small-streams.js';

const DIRECT = '(g) 2 serve endpoints';
const DISPATCHED = '(h) 1 serve --workers 2';
const STREAMS = 2;
const UNARY_WARMUP = 100;

/** A pool of the endpoints, and what closes it (at the end of the run, whatever happens, if not before). */
async function remotePool(token: string, endpoints: readonly ServeEndpoint[]): Promise<{ pool: SnakepitPool; close(): Promise<void> }> {
  const pool = await createPool({ adapter: BENCH_ADAPTER, endpoints: endpoints.map((endpoint) => endpoint.address), token });
  return { pool, close: onCleanup(() => pool.close()) };
}

/** `count` small chunks over `STREAMS` streams at once; the ms it took. */
function streamAtOnce(pool: SnakepitPool, count: number): Promise<number> {
  return streamSmall(pool, Math.ceil(count / STREAMS), { streams: STREAMS });
}

export const scaleOut: Workload = {
  name: 'scale-out',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { config } = context;
    const token = randomBytes(16).toString('hex');
    const endpoints = await Promise.all([
      startServeEndpoint(token),
      startServeEndpoint(token),
      startServeEndpoint(token, ['--workers', '2']),
    ]);
    const opened: { close(): Promise<void> }[] = [];
    try {
      const direct = await remotePool(token, endpoints.slice(0, 2));
      opened.push(direct);
      const dispatched = await remotePool(token, endpoints.slice(2));
      opened.push(dispatched);
      const pools = { [DIRECT]: direct.pool, [DISPATCHED]: dispatched.pool };
      const count = config.smallChunks;
      const rates = await measureRates(
        Object.fromEntries(Object.entries(pools).map(([path, pool]) => [path, (size: number) => streamAtOnce(pool, size)])),
        {
          name: 'scale-out streams',
          warmup: 1,
          runs: config.runs,
          progress: context.progress,
          size: (_, turn) => (turn.warmup ? Math.max(2000, Math.floor(count / 5)) : count),
        },
      );
      const latency = await measureInTurns(
        Object.fromEntries(
          Object.entries(pools).map(([path, pool]) => [
            path,
            async () => {
              const started = nowMs();
              await pool.execute('noop', { value: 1 });
              return nowMs() - started;
            },
          ]),
        ),
        {
          name: 'scale-out unary',
          warmup: UNARY_WARMUP,
          runs: config.runs,
          iterations: callsPerRun(config.unaryIterations, config.runs),
          progress: context.progress,
        },
      );
      const directRate = median(rates[DIRECT]!);
      const dispatchedRate = median(rates[DISPATCHED]!);
      const workload = `15 scale-out, ${STREAMS} streams of small chunks`;
      const rows: Row[] = [
        { workload, path: DIRECT, unit: 'chunks/s', median: directRate },
        { workload, path: DISPATCHED, unit: 'chunks/s', median: dispatchedRate, ratio: formatRatio(dispatchedRate / directRate, 'g') },
        ...latencyRows(
          '15 scale-out, unary round trip',
          { path: DIRECT, ms: distribution(latency[DIRECT]!) },
          { path: DISPATCHED, ms: distribution(latency[DISPATCHED]!) },
          undefined,
          'g',
        ),
      ];
      return { name: 'scale-out', rows, raw: { count, streams: STREAMS, chunksPerSecond: rates, unaryMs: latency } };
    } finally {
      await Promise.all(opened.map((pool) => pool.close()));
      await Promise.all(endpoints.map((endpoint) => endpoint.stop()));
    }
  },
};
