/**
 * Workload 10: a Chromium page reading a pool through the HTTP handler and
 * `snakepit-rx/browser`, with Python, Node and Chromium on the same machine.
 *
 * - small chunks per second into the page, against `pool.stream()` in Node
 *   in the same run;
 * - from the page's unsubscribe (which aborts its fetch) to the generator's
 *   `finally`: the page takes `performance.timeOrigin + performance.now()`
 *   right before unsubscribing, the tool's `finally` writes `time.time_ns()`
 *   (both the system's wall clock), against the same measure for
 *   `unsubscribe()` in Node;
 * - the server's memory while a page reads 1 MiB chunks slowly
 *   (browser-memory.child.ts runs the server in a process of its own).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type * as Client from '../../lib/browser/index.js';
import { launchBenchBrowser, servePage } from '../support/browser-page.js';
import { onCleanup } from '../support/cleanup.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { formatRatio, latencyRows } from '../support/report.js';
import type { RssGrowth } from '../support/rss.js';
import { distribution, median } from '../support/stats.js';
import { callsPerRun, measureInTurns, measureRates, nowMs, sleep } from '../support/timing.js';
import { streamSmall } from '../support/small-streams.js';

/** What the page's script sees. */
type PageGlobal = typeof globalThis & { snakepit: typeof Client };

interface SmallRecord {
  readonly seq: number;
  readonly label: string;
}

const CHUNKS_BEFORE_CANCEL = 5;
const STAMP_TIMEOUT_MS = 5_000;
const MEMORY_DELAY_MS = 5;
const MEMORY_LIMIT_MIB = 64;
const memoryChild = fileURLToPath(new URL('./browser-memory.child.ts', import.meta.url));

/** Streams `count` small records in the page; resolves with the milliseconds it took, after checking every record arrived once. */
function smallInPage(page: Page, count: number): Promise<number> {
  return page.evaluate(async (count) => {
    const { snakepit } = globalThis as PageGlobal;
    const client = snakepit.createHttpClient({ baseUrl: '/api' });
    const started = performance.now();
    let received = 0;
    let seqSum = 0;
    await client.executeStream<SmallRecord | null>('small', { count }, (chunk) => {
      if (chunk.data === null) return;
      received += 1;
      seqSum += chunk.data.seq + chunk.data.label.length - 11;
    });
    const elapsed = performance.now() - started;
    if (received !== count || seqSum !== (count * (count - 1)) / 2) throw new Error(`page got ${received} records, expected ${count}`);
    return elapsed;
  }, count);
}

function readStamp(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim()) / 1e6;
  } catch {
    return undefined;
  }
}

async function waitForStamp(path: string): Promise<number> {
  const deadline = nowMs() + STAMP_TIMEOUT_MS;
  for (;;) {
    const stamp = readStamp(path);
    if (stamp !== undefined) return stamp;
    if (nowMs() > deadline) return Number.NaN;
    await sleep(1);
  }
}

/** Wall-clock ms (epoch) when the page unsubscribed from `tick`, after a few chunks. */
function cancelInPage(page: Page, path: string): Promise<number> {
  return page.evaluate(
    ({ path, before }) =>
      new Promise<number>((resolve, reject) => {
        const { snakepit } = globalThis as PageGlobal;
        let received = 0;
        const subscription = snakepit
          .createHttpClient({ baseUrl: '/api' })
          .stream('tick', { path, interval_ms: 1, wall_clock: true })
          .subscribe({
            next: () => {
              if (++received !== before) return;
              const at = performance.timeOrigin + performance.now();
              subscription.unsubscribe();
              resolve(at);
            },
            error: reject,
          });
      }),
    { path, before: CHUNKS_BEFORE_CANCEL },
  );
}

interface MemoryResult extends RssGrowth {
  readonly chunks: number;
  readonly elapsedMs: number;
}

/** Runs the server in its own process, has the page read `chunks` × 1 MiB slowly from it, and returns the server's RSS growth. */
async function measureMemory(page: Page, chunks: number): Promise<MemoryResult> {
  const child = spawn(process.execPath, [...process.execArgv, memoryChild], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const nextLine = async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error('the memory child exited early; see its stderr above');
      return line.value;
    };
    const { url } = JSON.parse(await nextLine()) as { url: string };
    await page.goto(url);
    const readSlowly = (count: number) =>
      page.evaluate(
        async ({ count, delay }) => {
          const { snakepit } = globalThis as PageGlobal;
          let bytes = 0;
          await snakepit
            .createHttpClient({ baseUrl: '/api' })
            .executeStream<Uint8Array | null>('binary', { count, size: 1 << 20 }, async (chunk) => {
              if (chunk.data !== null) bytes += chunk.data.byteLength;
              await new Promise((resolve) => setTimeout(resolve, delay));
            });
          if (bytes !== count << 20) throw new Error(`page got ${bytes} bytes, expected ${count << 20}`);
        },
        { count, delay: MEMORY_DELAY_MS },
      );
    await readSlowly(2);
    child.stdin.write('start\n');
    await nextLine();
    const started = nowMs();
    await readSlowly(chunks);
    const elapsedMs = nowMs() - started;
    child.stdin.write('stop\n');
    return { ...(JSON.parse(await nextLine()) as RssGrowth), chunks, elapsedMs };
  } finally {
    await stop();
  }
}

export const browser: Workload = {
  name: 'browser',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const [chromium, served] = await Promise.all([launchBenchBrowser(), servePage(pool, ['small', 'tick'])]);
    const page = await chromium.newPage();
    await page.goto(served.url);
    const directory = mkdtempSync(join(tmpdir(), 'snakepit-bench-'));
    try {
      // 1. Small chunks per second.
      const count = config.smallChunks;
      const rates = await measureRates(
        {
          '(c) pool.stream() in Node': (n) => streamSmall(pool, n),
          '(f) Chromium page, HTTP handler': (n) => smallInPage(page, n),
        },
        {
          name: 'browser small chunks',
          warmup: 1,
          runs: config.runs,
          progress: context.progress,
          size: (_, turn) => (turn.warmup ? 5_000 : count),
        },
      );
      const node = median(rates['(c) pool.stream() in Node']!);
      const inPage = median(rates['(f) Chromium page, HTTP handler']!);
      const rows: Row[] = [
        { workload: '10 browser, small chunks', path: '(c) pool.stream() in Node', unit: 'chunks/s', median: node },
        {
          workload: '10 browser, small chunks',
          path: '(f) Chromium page, HTTP handler',
          unit: 'chunks/s',
          median: inPage,
          ratio: formatRatio(inPage / node, 'c'),
          target: '≥100,000/s',
          pass: inPage >= 100_000,
        },
      ];

      // 2. Unsubscribe → the generator's finally.
      let iteration = 0;
      const latency = async (cancel: (path: string) => Promise<number>) => {
        const path = join(directory, `stamp-${++iteration}`);
        const cancelledAt = await cancel(path);
        return (await waitForStamp(path)) - cancelledAt;
      };
      const samples = await measureInTurns(
        {
          '(c) pool.stream() unsubscribe': () =>
            latency(
              (path) =>
                new Promise<number>((resolve, reject) => {
                  let received = 0;
                  const subscription = pool.stream('tick', { path, interval_ms: 1, wall_clock: true }).subscribe({
                    next: () => {
                      if (++received !== CHUNKS_BEFORE_CANCEL) return;
                      const at = performance.timeOrigin + performance.now();
                      subscription.unsubscribe();
                      resolve(at);
                    },
                    error: reject,
                  });
                }),
            ),
          '(f) page unsubscribe (fetch aborted)': () => latency((path) => cancelInPage(page, path)),
        },
        {
          name: 'browser cancellation',
          warmup: 3,
          runs: config.runs,
          iterations: callsPerRun(config.cancelIterations, config.runs),
          progress: context.progress,
        },
      );
      const nodeMs = distribution(samples['(c) pool.stream() unsubscribe']!);
      const pageMs = distribution(samples['(f) page unsubscribe (fetch aborted)']!);
      rows.push(
        ...latencyRows(
          '10 browser, abort → finally',
          { path: '(c) pool.stream() unsubscribe', ms: nodeMs },
          { path: '(f) page unsubscribe (fetch aborted)', ms: pageMs },
          { text: '≤50 ms p50', pass: pageMs.p50 <= 50 },
          'c',
        ),
      );

      // 3. Memory of the server while a page reads slowly.
      context.progress(`browser memory: ${config.memoryChunks} × 1 MiB to a page taking ${MEMORY_DELAY_MS} ms per chunk`);
      const { memory } = await measureInTurns(
        { memory: () => measureMemory(page, config.memoryChunks) },
        { name: 'browser memory', warmup: 0, runs: config.runs, progress: context.progress },
      );
      for (const [side, growth] of [
        ['server Node', memory!.map((run) => run.nodeGrowthMiB)],
        ['worker', memory!.map((run) => run.workerGrowthMiB)],
      ] as const) {
        // A bound holds only if it holds in every run: the figure is the worst.
        const worst = Math.max(...growth);
        rows.push({
          workload: `10 browser, ${config.memoryChunks} MiB slow`,
          path: `(f) page at ${MEMORY_DELAY_MS} ms/chunk: ${side} RSS growth, worst of ${growth.length}`,
          unit: 'MiB',
          median: worst,
          target: `≤${MEMORY_LIMIT_MIB} MiB`,
          pass: worst <= MEMORY_LIMIT_MIB,
        });
      }
      return {
        name: 'browser',
        rows,
        raw: {
          chromium: chromium.version(),
          smallChunks: { count, chunksPerSecond: rates },
          cancellation: { iterations: config.cancelIterations, ms: samples, distributions: { node: nodeMs, page: pageMs } },
          memory: { runs: memory, delayMs: MEMORY_DELAY_MS },
        },
      };
    } finally {
      await page.close();
      rmSync(directory, { recursive: true, force: true });
    }
  },
};
