/**
 * Workload 11: a Python tool calls a Node function registered with
 * `createPool({ hostTools })` and waits for its result, on the call's own
 * stream. The round trip is timed in Python (send → result), one host-tool
 * call per `execute()`, against a raw grpc-js unary round trip (one message
 * each way, as a host-tool call is).
 */
import { startBenchPool } from '../support/bench-pool.js';
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { compareLatency } from '../support/latency.js';
import { RawClient } from '../support/raw-client.js';
import { nowMs } from '../support/timing.js';

interface RoundTrip {
  readonly ms: number;
  readonly echo: { value: number };
}

const WARMUP_ITERATIONS = 100;

export const hostTool: Workload = {
  name: 'host-tool',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const raw = new RawClient(context.baselineAddress, 'default');
    const hostPool = await startBenchPool(1, { hostTools: { echo: (args) => args } });
    try {
      await raw.connect();
      return await compareLatency(context, {
        name: 'host-tool',
        workload: '11 host-tool round trip',
        warmup: WARMUP_ITERATIONS,
        calls: context.config.unaryIterations,
        baseline: {
          path: '(a) grpc-js unary',
          measure: async ({ index: value }) => {
            const started = nowMs();
            await raw.unary('noop', { value });
            return nowMs() - started;
          },
        },
        paths: [
          {
            path: '(c) Python → Node → Python',
            measure: async ({ index: value }) => {
              const { ms, echo } = await hostPool.pool.execute<RoundTrip>('host_round_trip', { value });
              if (echo.value !== value) throw new Error(`host tool echoed ${JSON.stringify(echo)}, expected ${value}`);
              return ms;
            },
            targetP50Ms: 2,
          },
        ],
      });
    } finally {
      raw.close();
      await hostPool.close();
    }
  },
};
