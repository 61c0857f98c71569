/**
 * The server side of the browser memory measurement, in a Node process of its
 * own (started by browser.ts) so that its RSS is the server's alone: a
 * one-worker pool and the HTTP handler, with the page that reads from it.
 *
 * Prints `{"url": ...}` once listening; on `start` (stdin) starts sampling
 * its own and the worker's RSS and answers `started`; on `stop` prints the growth.
 */
import { createInterface } from 'node:readline';
import { startBenchPool } from '../support/bench-pool.js';
import { servePage } from '../support/browser-page.js';
import { cleanUpAll, cleanUpOnSignals } from '../support/cleanup.js';
import { RssSampler } from '../support/rss.js';

const SAMPLE_INTERVAL_MS = 50;

async function main(): Promise<void> {
  cleanUpOnSignals();
  try {
    const { pool } = await startBenchPool(1);
    const workerPid = await pool.execute<number>('pid');
    const { url } = await servePage(pool, ['binary']);
    process.stdout.write(`${JSON.stringify({ url, workerPid })}\n`);
    let sampler: RssSampler | undefined;
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'start') {
        sampler = new RssSampler(workerPid);
        sampler.start(SAMPLE_INTERVAL_MS);
        process.stdout.write('started\n');
      } else if (line === 'stop' && sampler !== undefined) {
        process.stdout.write(`${JSON.stringify(sampler.stop())}\n`);
        break;
      }
    }
  } finally {
    await cleanUpAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`browser-memory child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
