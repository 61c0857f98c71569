/**
 * Workload 4: latency from subscribing to the first chunk on a warm pool,
 * for a tool that yields one small record; the pool's worker on a Unix
 * socket (the default) and on a loopback port, against a plain grpcio server
 * and grpc-js client over TCP (and, for comparison, over a Unix socket).
 */
import type { SnakepitPool } from 'snakepit-rx';
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { parseJson, RawClient } from '../support/raw-client.js';
import { compareLatency } from '../support/latency.js';
import { nowMs } from '../support/timing.js';

interface SmallRecord {
  readonly seq: number;
}

const WARMUP_ITERATIONS = 50;

/** Subscribe → first chunk decoded, waiting for the call's end before the next. */
function rawFirstChunk(client: RawClient): () => Promise<number> {
  return async () => {
    const started = nowMs();
    let first = Number.NaN;
    await client.stream('first', {}, (chunk) => {
      const record = parseJson(chunk.data) as SmallRecord;
      if (Number.isNaN(first) && record.seq === 0) first = nowMs() - started;
    });
    return first;
  };
}

function poolFirstChunk(pool: SnakepitPool): () => Promise<number> {
  return async () => {
    const started = nowMs();
    let first = Number.NaN;
    await new Promise<void>((resolve, reject) => {
      pool.stream<SmallRecord | null>('first').subscribe({
        next: (chunk) => {
          if (Number.isNaN(first) && chunk.data?.seq === 0) first = nowMs() - started;
        },
        error: reject,
        complete: resolve,
      });
    });
    return first;
  };
}

export const firstChunk: Workload = {
  name: 'first-chunk',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const raw = new RawClient(context.baselineAddress, 'default');
    const rawUnix = new RawClient(context.baselineUnixAddress, 'default');
    try {
      await Promise.all([raw.connect(), rawUnix.connect()]);
      return await compareLatency(context, {
        name: 'first-chunk',
        workload: '4 first chunk, warm',
        warmup: WARMUP_ITERATIONS,
        calls: context.config.latencyIterations,
        baseline: { path: '(a) grpcio → grpc-js, TCP', measure: rawFirstChunk(raw) },
        paths: [
          { path: '(a) grpcio → grpc-js, Unix socket', measure: rawFirstChunk(rawUnix) },
          // Issue #12's target, and the first round's.
          { path: '(c) pool.stream(), Unix socket', measure: poolFirstChunk(context.pool), targetP50Ms: 2, targetRatio: 1.2 },
          { path: '(c) pool.stream(), TCP', measure: poolFirstChunk(context.tcpPool), targetP50Ms: 2 },
        ],
      });
    } finally {
      raw.close();
      rawUnix.close();
    }
  },
};
