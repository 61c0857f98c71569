/**
 * Workload 4: latency from subscribing to the first chunk on a warm pool,
 * for a tool that yields one small record.
 */
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { parseJson, RawClient } from '../support/raw-client.js';
import { latencyRows } from '../support/report.js';
import { distribution } from '../support/stats.js';
import { measureInTurns, nowMs } from '../support/timing.js';

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
      const paths = {
        '(a) grpcio → grpc-js': async (): Promise<number> => {
          const started = nowMs();
          let first = Number.NaN;
          await raw.stream('first', {}, (chunk) => {
            const record = parseJson(chunk.data) as SmallRecord;
            if (Number.isNaN(first) && record.seq === 0) first = nowMs() - started;
          });
          return first;
        },
        '(c) pool.stream()': async (): Promise<number> => {
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
      };
      const samples = await measureInTurns(paths, {
        name: 'first chunk',
        warmup: WARMUP_ITERATIONS,
        runs: config.latencyIterations,
        progress: context.progress,
        report: 'iterations',
      });
      const baseline = distribution(samples['(a) grpcio → grpc-js']!);
      const library = distribution(samples['(c) pool.stream()']!);
      const rows = latencyRows(
        '4 first chunk, warm',
        { path: '(a) grpcio → grpc-js', ms: baseline },
        { path: '(c) pool.stream()', ms: library },
        { text: '≤2 ms p50', pass: library.p50 <= 2 },
      );
      return {
        name: 'first-chunk',
        rows,
        raw: { iterations: config.latencyIterations, warmup: WARMUP_ITERATIONS, ms: samples, distributions: { baseline, library } },
      };
    } finally {
      raw.close();
    }
  },
};
