/**
 * Workload 5: unary round trip of a trivial tool, `pool.execute()` with its
 * worker on a Unix socket (the default) and on a loopback port, against a
 * raw grpc-js unary call over TCP (and over a Unix socket).
 */
import type { SnakepitPool } from 'snakepit-rx';
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { RawClient } from '../support/raw-client.js';
import { compareLatency } from '../support/latency.js';
import { nowMs, type Turn } from '../support/timing.js';

interface NoopResult {
  readonly ok: boolean;
  readonly echo: number;
}

const WARMUP_ITERATIONS = 100;

function timedEcho(call: (value: number) => Promise<unknown>, path: string): (turn: Turn) => Promise<number> {
  return async ({ index: value }) => {
    const started = nowMs();
    const result = await call(value);
    const elapsed = nowMs() - started;
    const echo = (result as NoopResult).echo;
    if (echo !== value) throw new Error(`${path}: echo ${String(echo)}, expected ${value}`);
    return elapsed;
  };
}

const execute = (pool: SnakepitPool) => (value: number) => pool.execute<NoopResult>('noop', { value });

export const unary: Workload = {
  name: 'unary',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const raw = new RawClient(context.baselineAddress, 'default');
    const rawUnix = new RawClient(context.baselineUnixAddress, 'default');
    try {
      await Promise.all([raw.connect(), rawUnix.connect()]);
      return await compareLatency(context, {
        name: 'unary',
        workload: '5 unary round trip',
        warmup: WARMUP_ITERATIONS,
        calls: context.config.unaryIterations,
        baseline: { path: '(a) grpc-js unary, TCP', measure: timedEcho((value) => raw.unary('noop', { value }), 'baseline') },
        paths: [
          { path: '(a) grpc-js unary, Unix socket', measure: timedEcho((value) => rawUnix.unary('noop', { value }), 'baseline, Unix') },
          { path: '(c) pool.execute(), Unix socket', measure: timedEcho(execute(context.pool), 'execute'), targetP50Ms: 1.5 },
          { path: '(c) pool.execute(), TCP', measure: timedEcho(execute(context.tcpPool), 'execute, TCP'), targetP50Ms: 1.5 },
        ],
      });
    } finally {
      raw.close();
      rawUnix.close();
    }
  },
};
