/**
 * Workload 4: latency from subscribing to the first chunk on a warm pool,
 * for a tool that yields one small record.
 */
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { parseJson, RawClient } from '../support/raw-client.js';
import { compareLatency } from '../support/latency.js';
import { nowMs } from '../support/timing.js';

interface SmallRecord {
  readonly seq: number;
}

const WARMUP_ITERATIONS = 50;

export const firstChunk: Workload = {
  name: 'first-chunk',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const raw = new RawClient(context.baselineAddress, 'default');
    try {
      await raw.connect();
      // Each measures subscribe → first chunk decoded, then waits for the call's end before the next.
      return await compareLatency(context, {
        name: 'first-chunk',
        workload: '4 first chunk, warm',
        warmup: WARMUP_ITERATIONS,
        calls: config.latencyIterations,
        targetP50Ms: 2,
        baseline: {
          path: '(a) grpcio → grpc-js',
          measure: async () => {
            const started = nowMs();
            let first = Number.NaN;
            await raw.stream('first', {}, (chunk) => {
              const record = parseJson(chunk.data) as SmallRecord;
              if (Number.isNaN(first) && record.seq === 0) first = nowMs() - started;
            });
            return first;
          },
        },
        library: {
          path: '(c) pool.stream()',
          measure: async () => {
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
          },
        },
      });
    } finally {
      raw.close();
    }
  },
};
