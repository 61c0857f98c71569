/**
 * Workload 8: a consumer that takes 5 ms per chunk reads 1 MiB chunks (1 GiB
 * in full mode); Node's and the worker's RSS must stay bounded, which they do
 * only if the slow consumer pauses the transport and the generator waits.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from '../support/cleanup.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import type { RssGrowth } from '../support/rss.js';
import { median } from '../support/stats.js';
import { measureInTurns } from '../support/timing.js';

const DELAY_MS = 5;
const SAMPLE_INTERVAL_MS = 50;
const LIMIT_MIB = 64;
const childScript = fileURLToPath(new URL('./bounded-memory.child.ts', import.meta.url));

interface ChildResult extends RssGrowth {
  readonly consumer: string;
  readonly chunks: number;
  readonly elapsedMs: number;
}

/** Runs one consumer in a fresh Node process (with this process's loader flags, so tsx runs it too). */
function runChild(consumer: string, chunks: number): Promise<ChildResult> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, childScript, consumer, String(chunks), String(DELAY_MS), String(SAMPLE_INTERVAL_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // SIGTERM lets the child close its pool; SIGKILL only if it does not.
  const stop = onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  const timeoutMs = chunks * DELAY_MS * 4 + 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stop();
  }, timeoutMs);
  return exited.then(async (code) => {
    clearTimeout(timer);
    await stop();
    const last = output.trim().split('\n').pop() ?? '';
    if (timedOut) throw new Error(`${consumer} consumer hung: stopped after ${timeoutMs} ms`);
    if (code !== 0 || !last.startsWith('{'))
      throw new Error(`${consumer} consumer failed (exit code ${String(code)}); see its stderr above`);
    return JSON.parse(last) as ChildResult;
  });
}

const CONSUMERS = { executeStream: '(d) executeStream async cb', iterate: '(e) iterate() loop' } as const;

export const boundedMemory: Workload = {
  name: 'bounded-memory',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { memoryChunks: chunks, runs } = context.config;
    context.progress(`bounded memory: ${chunks} × 1 MiB at ${DELAY_MS} ms per chunk, each consumer in a fresh process`);
    const results = await measureInTurns(
      Object.fromEntries(Object.keys(CONSUMERS).map((consumer) => [consumer, () => runChild(consumer, chunks)])),
      { name: 'bounded memory', warmup: 0, runs, progress: context.progress },
    );
    const rows: Row[] = [];
    for (const [consumer, label] of Object.entries(CONSUMERS)) {
      const measured = results[consumer]!;
      const megabytesPerSecond = median(measured.map((result) => (chunks * 1024 * 1024) / 1e6 / (result.elapsedMs / 1000)));
      for (const [side, growth] of [
        ['Node', measured.map((result) => result.nodeGrowthMiB)],
        ['worker', measured.map((result) => result.workerGrowthMiB)],
      ] as const) {
        // A bound holds only if it holds in every run: the figure is the worst.
        const worst = Math.max(...growth);
        rows.push({
          workload: `8 memory, ${chunks} MiB slow`,
          path: `${label}: ${side} RSS growth, worst of ${growth.length}`,
          unit: 'MiB',
          median: worst,
          target: `≤${LIMIT_MIB} MiB`,
          pass: worst <= LIMIT_MIB,
          note: side === 'Node' ? `(${Math.round(megabytesPerSecond)} MB/s)` : undefined,
        });
      }
    }
    return {
      name: 'bounded-memory',
      rows,
      raw: { chunks, chunkBytes: 1024 * 1024, delayMs: DELAY_MS, sampleIntervalMs: SAMPLE_INTERVAL_MS, results },
    };
  },
};
