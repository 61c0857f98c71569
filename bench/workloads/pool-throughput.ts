/**
 * Workload 13, pool throughput: 1, 2 and 4 concurrent streams of small JSON chunks over a
 * pool of 4 workers; aggregate chunks/s and its ratio to one stream. Run
 * flat out, one stream already uses both cores of a 2-core machine, so more
 * streams cannot add throughput there, but must not lose it either (no
 * collapse under contention); paced at 50,000 chunks/s each, streams leave
 * room for one another, and 4 must deliver nearly 4 times one.
 */
import { startBenchPool } from '../support/bench-pool.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { measureRates } from '../support/timing.js';
import { streamSmall } from '../support/small-streams.js';

const POOL_SIZE = 4;
const STREAMS = [1, 2, 4] as const;
const PACED_RATE = 50_000;
/** At least this share of one stream's throughput, whatever the number of streams, flat out. */
const FLAT_OUT_FLOOR = 0.9;
/** 4 paced streams must deliver at least this many times one. */
const PACED_FOUR_TARGET = 3.6;

const label = (streams: number, paced: boolean) =>
  `${streams} stream${streams > 1 ? 's' : ''}${paced ? `, paced at ${PACED_RATE.toLocaleString('en-US')}/s each` : ', flat out'}`;

export const poolThroughput: Workload = {
  name: 'pool-throughput',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { config } = context;
    const benchPool = await startBenchPool(POOL_SIZE);
    const { pool } = benchPool;
    try {
      const flatOutCount = config.smallChunks;
      // About a second a run: a paced stream takes as long whatever the machine.
      const pacedCount = PACED_RATE * (context.mode === 'quick' ? 0.5 : 1);
      const streamsOf: Record<string, number> = {};
      const countOf: Record<string, number> = {};
      const paths: Record<string, (count: number) => Promise<number>> = {};
      for (const paced of [false, true]) {
        for (const streams of STREAMS) {
          const path = label(streams, paced);
          streamsOf[path] = streams;
          countOf[path] = paced ? pacedCount : flatOutCount;
          paths[path] = (count) => streamSmall(pool, count, { streams, ...(paced ? { rate: PACED_RATE } : {}) });
        }
      }
      const rates = await measureRates(paths, {
        name: 'pool throughput',
        warmup: 1,
        runs: config.runs,
        progress: context.progress,
        size: (path, turn) => (turn.warmup ? Math.floor(countOf[path]! / 5) : countOf[path]!),
      });
      // measureRates counts one stream's records a second; the aggregate, every stream's over the wall time of them all.
      const aggregate = Object.fromEntries(
        Object.entries(rates).map(([path, samples]) => [path, samples.map((rate) => rate * streamsOf[path]!)]),
      );
      const medians = Object.fromEntries(Object.entries(aggregate).map(([path, samples]) => [path, median(samples)]));
      const rows: Row[] = [];
      for (const paced of [false, true]) {
        const one = medians[label(1, paced)]!;
        for (const streams of STREAMS) {
          const path = label(streams, paced);
          const value = medians[path]!;
          const row: Row = { workload: `13 pool of ${POOL_SIZE}, aggregate`, path, unit: 'chunks/s', median: value };
          if (streams === 1) {
            rows.push(row);
            continue;
          }
          const ratio = value / one;
          const floor = paced ? (streams === 4 ? PACED_FOUR_TARGET : undefined) : FLAT_OUT_FLOOR;
          rows.push({
            ...row,
            ratio: formatRatio(ratio, 'one stream'),
            ...(floor === undefined ? {} : { target: `≥${floor}× one stream`, pass: ratio >= floor }),
          });
        }
      }
      return {
        name: 'pool-throughput',
        rows,
        raw: {
          poolSize: POOL_SIZE,
          pacedRate: PACED_RATE,
          countPerStream: countOf,
          runs: config.runs,
          aggregateChunksPerSecond: aggregate,
          medians,
        },
      };
    } finally {
      await benchPool.close();
    }
  },
};
