import { setTimeout as delay } from 'node:timers/promises';
import { checkedRun } from './run-load.js';

/** Monotonic milliseconds with sub-microsecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

/** Rejects when `promise` has not settled within `ms`: a hang must fail the workload, not the whole run. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One call of a path by `measureInTurns`. */
export interface Turn {
  /** True for the unmeasured calls before the first measured one. */
  readonly warmup: boolean;
  /** Counts this path's calls from 0, separately for warm-up and measured calls (a repeated run counts its calls again). */
  readonly index: number;
}

export interface TurnOptions {
  /** Names the workload in progress messages. */
  readonly name: string;
  /** Unmeasured calls of each path, path after path, before any is measured. */
  readonly warmup: number;
  /** Measured runs; each is checked for foreign load (run-load.ts), and repeated if the machine was busy. */
  readonly runs: number;
  /** Calls of each path in one run, the paths taking turns call by call; default 1 (latency workloads make many short calls). */
  readonly iterations?: number;
  readonly progress: (message: string) => void;
}

/** `calls` spread over `runs`, rounded up so that no path gets fewer calls than asked. */
export function callsPerRun(calls: number, runs: number): number {
  return Math.max(1, Math.ceil(calls / runs));
}

/**
 * Warms every path up, then measures each `runs` times (`iterations` calls
 * a run), the paths taking turns within each run so that drift in the
 * machine's state spreads over all of them. Returns what each path's
 * measured calls returned, in order, from the runs kept.
 */
export async function measureInTurns<T>(
  paths: Readonly<Record<string, (turn: Turn) => Promise<T>>>,
  { name, warmup, runs, iterations = 1, progress }: TurnOptions,
): Promise<Record<string, T[]>> {
  const samples: Record<string, T[]> = {};
  for (const [path, measure] of Object.entries(paths)) {
    progress(`${name}: warm-up ${path}`);
    for (let index = 0; index < warmup; index++) await measure({ warmup: true, index });
    samples[path] = [];
  }
  for (let run = 0; run < runs; run++) {
    const label = `${name}: run ${run + 1}/${runs}`;
    progress(iterations === 1 ? label : `${label}, ${iterations} calls per path, alternating`);
    const kept = await checkedRun(
      label,
      async () => {
        const measured: Record<string, T[]> = Object.fromEntries(Object.keys(paths).map((path) => [path, []]));
        for (let call = 0; call < iterations; call++) {
          for (const [path, measure] of Object.entries(paths)) {
            measured[path]!.push(await measure({ warmup: false, index: run * iterations + call }));
          }
        }
        return measured;
      },
      progress,
    );
    for (const [path, values] of Object.entries(kept)) samples[path]!.push(...values);
  }
  return samples;
}

/**
 * `measureInTurns` for throughput: each path is called with a size (of its
 * warm-up or measured calls) and returns the milliseconds it took; the
 * result is `units(size)` per second of each measured call.
 */
export function measureRates(
  paths: Readonly<Record<string, (size: number) => Promise<number>>>,
  {
    size,
    units = (n) => n,
    ...options
  }: TurnOptions & {
    readonly size: (path: string, turn: Turn) => number;
    readonly units?: (size: number) => number;
  },
): Promise<Record<string, number[]>> {
  const ratePaths = Object.entries(paths).map(([path, run]) => {
    const rate = async (turn: Turn) => {
      const n = size(path, turn);
      return units(n) / ((await run(n)) / 1000);
    };
    return [path, rate] as const;
  });
  return measureInTurns(Object.fromEntries(ratePaths), options);
}
