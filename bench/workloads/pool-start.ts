/**
 * Workload 7: wall time of `createPool` for fresh pools of 1 and 4 workers,
 * against spawning the plain grpcio server until it prints its port.
 */
import { startBaselineServer } from '../support/baseline-server.js';
import { startBenchPool } from '../support/bench-pool.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { formatRatio } from '../support/report.js';
import { distribution } from '../support/stats.js';
import { measureInTurns, nowMs } from '../support/timing.js';

async function baselineStart(count: number): Promise<number> {
  const started = nowMs();
  const servers = await Promise.allSettled(Array.from({ length: count }, () => startBaselineServer()));
  const elapsed = nowMs() - started;
  await Promise.all(servers.flatMap((server) => (server.status === 'fulfilled' ? [server.value.stop()] : [])));
  const failed = servers.find((server) => server.status === 'rejected');
  if (failed) throw failed.reason;
  return elapsed;
}

async function poolStart(size: number): Promise<number> {
  const started = nowMs();
  const pool = await startBenchPool(size);
  const elapsed = nowMs() - started;
  await pool.close();
  return elapsed;
}

export const poolStartWorkload: Workload = {
  name: 'pool-start',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { config } = context;
    const paths: Record<string, () => Promise<number>> = {
      'baseline: 1 grpcio server': () => baselineStart(1),
      'createPool size 1': () => poolStart(1),
      'baseline: 4 grpcio servers': () => baselineStart(4),
      'createPool size 4': () => poolStart(4),
    };
    const samples = await measureInTurns(paths, {
      name: 'pool start',
      warmup: 1,
      runs: config.runs,
      progress: context.progress,
    });
    const d = Object.fromEntries(Object.entries(samples).map(([path, values]) => [path, distribution(values)]));
    const row = (path: string, baselinePath?: string, target?: number): Row => {
      const stats = d[path]!;
      const base: Row = { workload: '7 pool start', path, unit: 'ms', median: stats.p50 };
      if (baselinePath === undefined || target === undefined) return base;
      return {
        ...base,
        ratio: formatRatio(stats.p50 / d[baselinePath]!.p50, 'baseline'),
        target: `≤${target} ms`,
        pass: stats.p50 <= target,
      };
    };
    return {
      name: 'pool-start',
      rows: [
        row('baseline: 1 grpcio server'),
        row('createPool size 1', 'baseline: 1 grpcio server', 250),
        row('baseline: 4 grpcio servers'),
        row('createPool size 4', 'baseline: 4 grpcio servers', 500),
      ],
      raw: { runs: config.runs, ms: samples, distributions: d },
    };
  },
};
