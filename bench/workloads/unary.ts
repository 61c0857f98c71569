/** Workload 5: unary round trip of a trivial tool, `pool.execute()` against a raw grpc-js unary call. */
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { RawClient } from '../support/raw-client.js';
import { compareLatency } from '../support/latency.js';
import { nowMs } from '../support/timing.js';

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
      return await compareLatency(context, {
        name: 'unary',
        workload: '5 unary round trip',
        warmup: WARMUP_ITERATIONS,
        calls: config.unaryIterations,
        targetP50Ms: 1.5,
        baseline: {
          path: '(a) grpc-js unary',
          measure: async ({ index: value }) => {
            const started = nowMs();
            const result = await raw.unary('noop', { value });
            const elapsed = nowMs() - started;
            checkEcho(result, value, 'baseline');
            return elapsed;
          },
        },
        library: {
          path: '(c) pool.execute()',
          measure: async ({ index: value }) => {
            const started = nowMs();
            const result = await pool.execute<NoopResult>('noop', { value });
            const elapsed = nowMs() - started;
            checkEcho(result, value, 'execute');
            return elapsed;
          },
        },
      });
    } finally {
      raw.close();
    }
  },
};
