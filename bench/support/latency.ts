import type { BenchContext, Row, WorkloadResult } from './context.js';
import { formatRatio } from './report.js';
import { distribution, type Distribution } from './stats.js';
import { callsPerRun, measureInTurns, type Turn } from './timing.js';

interface LatencyPath {
  readonly path: string;
  /** One measured call: its latency in ms. */
  readonly measure: (turn: Turn) => Promise<number>;
}

/** A path measured against the baseline, with the targets its p50 must meet. */
interface ComparedPath extends LatencyPath {
  /** In ms; none: reported only. */
  readonly targetP50Ms?: number;
  /** At most this many times the baseline's p50. */
  readonly targetRatio?: number;
}

export interface LatencyComparison {
  readonly name: string;
  /** The table's workload column. */
  readonly workload: string;
  readonly warmup: number;
  /** Measured calls of each path in all, spread over the mode's runs. */
  readonly calls: number;
  /** What the ratios are against; `a` in them. */
  readonly baseline: LatencyPath;
  readonly paths: readonly ComparedPath[];
}

function targetOf({ targetP50Ms, targetRatio }: ComparedPath, ms: Distribution, baseline: Distribution): Pick<Row, 'target' | 'pass'> {
  const checks = [
    ...(targetP50Ms === undefined ? [] : [{ text: `≤${targetP50Ms} ms p50`, pass: ms.p50 <= targetP50Ms }]),
    ...(targetRatio === undefined ? [] : [{ text: `≤${targetRatio}× a p50`, pass: ms.p50 <= targetRatio * baseline.p50 }]),
  ];
  if (checks.length === 0) return {};
  return { target: checks.map((check) => check.text).join(', '), pass: checks.every((check) => check.pass) };
}

/** Runs a baseline and other paths in turns and reports their latency distributions, each against the baseline's p50 and its targets. */
export async function compareLatency(context: BenchContext, comparison: LatencyComparison): Promise<WorkloadResult> {
  const { name, workload, warmup, calls, baseline, paths } = comparison;
  const { runs } = context.config;
  const iterations = callsPerRun(calls, runs);
  const samples = await measureInTurns(Object.fromEntries([baseline, ...paths].map(({ path, measure }) => [path, measure])), {
    name: workload,
    warmup,
    runs,
    iterations,
    progress: context.progress,
  });
  const distributions = Object.fromEntries(Object.entries(samples).map(([path, values]) => [path, distribution(values)]));
  const baselineMs = distributions[baseline.path]!;
  const row = (path: string): Row => ({ workload, path, unit: 'ms', median: distributions[path]!.p50, p99: distributions[path]!.p99 });
  return {
    name,
    rows: [
      row(baseline.path),
      ...paths.map((path) => ({
        ...row(path.path),
        ratio: formatRatio(distributions[path.path]!.p50 / baselineMs.p50, 'a'),
        ...targetOf(path, distributions[path.path]!, baselineMs),
      })),
    ],
    raw: { runs, callsPerRun: iterations, warmup, ms: samples, distributions },
  };
}
