/**
 * The bounded-memory measurement, run in a Node process of its own (started by
 * bounded-memory.ts) so that the heap left by other workloads neither hides
 * nor inflates its growth. Prints one JSON line with the result on stdout.
 *
 * Arguments: <executeStream|iterate> <chunks> <delay ms> <sample interval ms>
 */
import { startBenchPool } from '../support/bench-pool.js';
import { cleanUpAll, cleanUpOnSignals, interrupted } from '../support/cleanup.js';
import { RssSampler } from '../support/rss.js';
import { nowMs, sleep } from '../support/timing.js';

const CHUNK_BYTES = 1024 * 1024;
const WARMUP_CHUNKS = 2;

type Consumer = 'executeStream' | 'iterate';

async function main(): Promise<void> {
  cleanUpOnSignals();
  const [consumer, chunkArg, delayArg, intervalArg] = process.argv.slice(2);
  if (consumer !== 'executeStream' && consumer !== 'iterate') throw new Error(`unknown consumer ${String(consumer)}`);
  const chunks = Number(chunkArg);
  const delayMs = Number(delayArg);
  const intervalMs = Number(intervalArg);
  try {
    const { pool } = await startBenchPool(1);
    const workerPid = await pool.execute<number>('pid');
    let received = 0;
    let bytes = 0;
    let lastBytes = 0;
    const touch = (data: Uint8Array) => {
      received++;
      bytes += data.byteLength;
      lastBytes += data[data.byteLength - 1]!;
    };
    const slowConsumer: Record<Consumer, (count: number) => Promise<void>> = {
      executeStream: (count) =>
        pool.executeStream<Uint8Array | null>('binary', { count, size: CHUNK_BYTES }, async (chunk) => {
          if (chunk.data !== null) touch(chunk.data);
          await sleep(delayMs);
        }),
      iterate: async (count) => {
        for await (const chunk of pool.iterate<Uint8Array | null>('binary', { count, size: CHUNK_BYTES })) {
          if (chunk.data !== null) touch(chunk.data);
          await sleep(delayMs);
        }
      },
    };
    // A couple of chunks through the same code path first, so that the baseline includes its code, not its buffers.
    await slowConsumer[consumer](WARMUP_CHUNKS);
    received = 0;
    bytes = 0;
    lastBytes = 0;
    await sleep(200);

    const sampler = new RssSampler(workerPid);
    sampler.start(intervalMs);
    const started = nowMs();
    await slowConsumer[consumer](chunks);
    const elapsedMs = nowMs() - started;
    const growth = sampler.stop();
    if (received !== chunks || bytes !== chunks * CHUNK_BYTES || lastBytes !== chunks * 255) {
      throw new Error(`${consumer}: received ${received} chunks, ${bytes} bytes; expected ${chunks}`);
    }
    process.stdout.write(`${JSON.stringify({ consumer, chunks, chunkBytes: CHUNK_BYTES, delayMs, elapsedMs, workerPid, ...growth })}\n`);
  } finally {
    await cleanUpAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // Interrupted, the pool's closing fails the stream: not worth a stack trace.
    if (!interrupted())
      process.stderr.write(`bounded-memory child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
