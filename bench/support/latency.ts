import type { BenchContext, WorkloadResult } from './context.js';
import { latencyRows } from './report.js';
import { distribution } from './stats.js';
import { callsPerRun, measureInTurns, type Turn } from './timing.js';

interface LatencyPath {
  readonly path: string;
  /** One measured call: its latency in ms. */
  readonly measure: (turn: Turn) => Promise<number>;
}

export interface LatencyComparison {
  readonly name: string;
  /** The table's workload column. */
  readonly workload: string;
  readonly warmup: number;
  /** Measured calls of each path in all, spread over the mode's runs. */
  readonly calls: number;
  readonly baseline: LatencyPath;
  readonly library: LatencyPath;
  /** The p50 target for the library's path, in ms. */
  readonly targetP50Ms: number;
}

/** Runs a baseline and the library's path in turns and reports their latency distributions against a p50 target. */
export async function compareLatency(context: BenchContext, comparison: LatencyComparison): Promise<WorkloadResult> {
  const { name, workload, warmup, calls, baseline, library, targetP50Ms } = comparison;
  const { runs } = context.config;
  const iterations = callsPerRun(calls, runs);
  const samples = await measureInTurns(
    { [baseline.path]: baseline.measure, [library.path]: library.measure },
    { name: workload, warmup, runs, iterations, progress: context.progress },
  );
  const baselineMs = distribution(samples[baseline.path]!);
  const libraryMs = distribution(samples[library.path]!);
  return {
    name,
    rows: latencyRows(
      workload,
      { path: baseline.path, ms: baselineMs },
      { path: library.path, ms: libraryMs },
      { text: `≤${targetP50Ms} ms p50`, pass: libraryMs.p50 <= targetP50Ms },
    ),
    raw: { runs, callsPerRun: iterations, warmup, ms: samples, distributions: { baseline: baselineMs, library: libraryMs } },
  };
}
