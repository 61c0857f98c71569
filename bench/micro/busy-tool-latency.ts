/**
 * How late a chunk arrives when its tool computes on in Python after yielding it, in a worker at the
 * switch interval it sets (1 ms, worker_main.py) against Python's own (5 ms): the thread that sends the
 * chunk needs the GIL, which the computing tool holds until the interpreter makes it switch. The same
 * tool yielding without computing gives each pool's floor (the clocks of Python and Node are compared,
 * and differ by a constant).
 *
 * Not a workload of `npm run bench`: the README cites it for the worker's switch interval. Run with
 * `npx tsx bench/micro/busy-tool-latency.ts`; prints one JSON object: per pool, the p50 and p90 of each
 * chunk's delay (ms) while the tool computes 20 ms after each yield and while it does not, and the
 * small-chunk rate (chunks/s) of each pool, so that the interval's cost to streams shows beside it.
 */
import { lastValueFrom } from 'rxjs';
import { count, map } from 'rxjs/operators';
import { startBenchPool, type BenchPool } from '../support/bench-pool.js';
import { cleanUpAll } from '../support/cleanup.js';
import { controlEnvironment } from '../support/environment.js';

const ROUNDS = 5;
const CHUNKS = 40;
const BUSY_MS = 20;
const SMALL_CHUNKS = 200_000;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function delays(pool: BenchPool, busyMs: number): Promise<number[]> {
  const stream = pool.pool.stream<{ seq: number; yielded_at: number } | null>('compute_after_yield', { count: CHUNKS, busy_ms: busyMs });
  const arrivals = stream.pipe(
    map((chunk) => (chunk.data === null ? undefined : performance.timeOrigin + performance.now() - chunk.data.yielded_at * 1000)),
  );
  const measured: number[] = [];
  await new Promise<void>((resolve, reject) =>
    arrivals.subscribe({ next: (delay) => delay !== undefined && measured.push(delay), error: reject, complete: resolve }),
  );
  return measured;
}

async function smallRate(pool: BenchPool): Promise<number> {
  const started = performance.now();
  const received = await lastValueFrom(pool.pool.stream('small', { count: SMALL_CHUNKS }).pipe(count()));
  return received / ((performance.now() - started) / 1000);
}

controlEnvironment();
const pools: Record<string, BenchPool> = {
  'worker (1 ms)': await startBenchPool(1),
  'python (5 ms)': await startBenchPool(1, { adapter: 'python_switch_adapter.PythonSwitchAdapter' }),
};
const results: Record<string, { computing: number[]; idle: number[]; smallRates: number[] }> = {};
try {
  for (const name of Object.keys(pools)) results[name] = { computing: [], idle: [], smallRates: [] };
  // Rounds taking turns, so that a slow moment of the machine hits both pools alike.
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, pool] of Object.entries(pools)) {
      results[name]!.computing.push(...(await delays(pool, BUSY_MS)));
      results[name]!.idle.push(...(await delays(pool, 0)));
      results[name]!.smallRates.push(await smallRate(pool));
    }
  }
} finally {
  await cleanUpAll();
}
console.log(
  JSON.stringify(
    Object.fromEntries(
      Object.entries(results).map(([name, { computing, idle, smallRates }]) => [
        name,
        {
          computingP50: quantile(computing, 0.5),
          computingP90: quantile(computing, 0.9),
          idleP50: quantile(idle, 0.5),
          smallChunksPerSecond: quantile(smallRates, 0.5),
        },
      ]),
    ),
    null,
    2,
  ),
);
