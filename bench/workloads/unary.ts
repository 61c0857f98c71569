/** Workload 5: unary round trip of a trivial tool, `pool.execute()` against a raw grpc-js unary call. */
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { RawClient } from '../support/raw-client.js';
import { latencyRows } from '../support/report.js';
import { distribution } from '../support/stats.js';
import { measureInTurns, nowMs, type Turn } from '../support/timing.js';

interface NoopResult {
  readonly ok: boolean;
  readonly echo: number;
}

const WARMUP_ITERATIONS = 100;

function checkEcho(result: unknown, value: number, path: string): void {
  const echo = (result as NoopResult).echo;
  if (echo !== value) throw new Error(`${path}: echo ${String(echo)}, expected ${value}`);
}

export const unary: Workload = {
  name: 'unary',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const raw = new RawClient(context.baselineAddress, 'default');
    try {
      await raw.connect();
      const paths = {
        '(a) grpc-js unary': async ({ index: value }: Turn): Promise<number> => {
          const started = nowMs();
          const result = await raw.unary('noop', { value });
          const elapsed = nowMs() - started;
          checkEcho(result, value, 'baseline');
          return elapsed;
        },
        '(c) pool.execute()': async ({ index: value }: Turn): Promise<number> => {
          const started = nowMs();
          const result = await pool.execute<NoopResult>('noop', { value });
          const elapsed = nowMs() - started;
          checkEcho(result, value, 'execute');
          return elapsed;
        },
      };
      const samples = await measureInTurns(paths, {
        name: 'unary',
        warmup: WARMUP_ITERATIONS,
        runs: config.unaryIterations,
        progress: context.progress,
        report: 'iterations',
      });
      const baseline = distribution(samples['(a) grpc-js unary']!);
      const library = distribution(samples['(c) pool.execute()']!);
      const rows = latencyRows(
        '5 unary round trip',
        { path: '(a) grpc-js unary', ms: baseline },
        { path: '(c) pool.execute()', ms: library },
        { text: '≤1.5 ms p50', pass: library.p50 <= 1.5 },
      );
      return {
        name: 'unary',
        rows,
        raw: { iterations: config.unaryIterations, warmup: WARMUP_ITERATIONS, ms: samples, distributions: { baseline, library } },
      };
    } finally {
      raw.close();
    }
  },
};
