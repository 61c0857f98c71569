/**
 * Workload 6: from `unsubscribe()` (or grpc-js `call.cancel()`) to the Python
 * generator's `finally` having run. The tool's `finally` writes
 * `time.monotonic_ns()` to a file; Node takes `process.hrtime.bigint()` right
 * before cancelling. Both read CLOCK_MONOTONIC on Linux, so the difference is
 * the cancellation latency, whatever Node does while it polls for the file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { RawClient } from '../support/raw-client.js';
import { latencyRows } from '../support/report.js';
import { distribution } from '../support/stats.js';
import { callsPerRun, measureInTurns, sleep } from '../support/timing.js';

/** Chunks received before cancelling, so that the generator is surely in its loop. */
const CHUNKS_BEFORE_CANCEL = 5;
/** A generator whose finally has not run after this long counts as never closed. */
const STAMP_TIMEOUT_MS = 5_000;
const WARMUP_ITERATIONS = 3;

function readStamp(path: string): bigint | undefined {
  try {
    return BigInt(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

async function waitForStamp(path: string, timeoutMs: number): Promise<bigint | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const stamp = readStamp(path);
    if (stamp !== undefined || performance.now() > deadline) return stamp;
    await sleep(1);
  }
}

interface Cancelled {
  /** hrtime right before cancelling, ns. */
  readonly cancelledAt: bigint;
}

export const cancellation: Workload = {
  name: 'cancellation',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const raw = new RawClient(context.baselineAddress, 'default');
    const directory = mkdtempSync(join(tmpdir(), 'snakepit-bench-'));
    let iteration = 0;
    try {
      await raw.connect();
      const paths = {
        '(a) grpc-js call.cancel()': (path: string) =>
          new Promise<Cancelled>((resolve, reject) => {
            let received = 0;
            const call = raw.openStream('tick', { path, interval_ms: 1 });
            call.on('data', () => {
              if (++received !== CHUNKS_BEFORE_CANCEL) return;
              const cancelledAt = process.hrtime.bigint();
              call.cancel();
              resolve({ cancelledAt });
            });
            call.on('error', (error: grpc.ServiceError) => {
              if (error.code !== grpc.status.CANCELLED) reject(error);
            });
          }),
        '(c) pool.stream() unsubscribe': (path: string) =>
          new Promise<Cancelled>((resolve, reject) => {
            let received = 0;
            const subscription = pool.stream('tick', { path, interval_ms: 1 }).subscribe({
              next: () => {
                if (++received !== CHUNKS_BEFORE_CANCEL) return;
                const cancelledAt = process.hrtime.bigint();
                subscription.unsubscribe();
                resolve({ cancelledAt });
              },
              error: reject,
              complete: () => reject(new Error('tick completed without being cancelled')),
            });
          }),
      };

      const measure = async (start: (path: string) => Promise<Cancelled>) => {
        const path = join(directory, `stamp-${++iteration}`);
        const { cancelledAt } = await start(path);
        const stamp = await waitForStamp(path, STAMP_TIMEOUT_MS);
        const callback = readStamp(`${path}.callback`);
        return {
          ms: stamp === undefined ? Number.NaN : Number(stamp - cancelledAt) / 1e6,
          callbackMs: callback === undefined ? undefined : Number(callback - cancelledAt) / 1e6,
        };
      };

      const measured = await measureInTurns(
        Object.fromEntries(Object.entries(paths).map(([path, start]) => [path, () => measure(start)])),
        {
          name: 'cancellation',
          warmup: WARMUP_ITERATIONS,
          runs: config.runs,
          iterations: callsPerRun(config.cancelIterations, config.runs),
          progress: context.progress,
        },
      );
      const samples = Object.fromEntries(Object.entries(measured).map(([path, results]) => [path, results.map(({ ms }) => ms)]));
      const callbackSamples = Object.values(measured).flatMap((results) =>
        results.flatMap(({ callbackMs }) => (callbackMs === undefined ? [] : [callbackMs])),
      );

      const never = (values: readonly number[]) => values.filter((value) => Number.isNaN(value)).length;
      const baselineSamples = samples['(a) grpc-js call.cancel()']!;
      const librarySamples = samples['(c) pool.stream() unsubscribe']!;
      const baseline = distribution(baselineSamples);
      const library = distribution(librarySamples);
      const neverNote = (values: readonly number[]) =>
        never(values) > 0 ? `(${never(values)}/${values.length} never closed in ${STAMP_TIMEOUT_MS / 1000} s)` : undefined;
      const rows = latencyRows(
        '6 cancellation',
        { path: '(a) grpc-js call.cancel()', ms: baseline, note: neverNote(baselineSamples) },
        { path: '(c) pool.stream() unsubscribe', ms: library, note: neverNote(librarySamples) },
        { text: '≤5 ms p50, ≤20 ms p99', pass: never(librarySamples) === 0 && library.p50 <= 5 && library.p99 <= 20 },
      );
      return {
        name: 'cancellation',
        rows,
        raw: {
          runs: config.runs,
          callsPerRun: callsPerRun(config.cancelIterations, config.runs),
          chunksBeforeCancel: CHUNKS_BEFORE_CANCEL,
          ms: samples,
          // grpcio's context callback on the baseline server, for comparison with its generator's finally.
          baselineContextCallbackMs: callbackSamples,
          distributions: { baseline, library, baselineContextCallback: distribution(callbackSamples) },
        },
      };
    } finally {
      raw.close();
      rmSync(directory, { recursive: true, force: true });
    }
  },
};
