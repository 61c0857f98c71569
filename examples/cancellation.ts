/**
 * The guide's "Stream Cancellation": run an endless stream for a while, then
 * cancel it, and see the Python generator closed.
 *
 *   task = Task.async(fn ->
 *     Snakepit.execute_stream("infinite_stream", %{}, fn chunk ->
 *       IO.puts("Received: #{inspect(chunk)}")
 *     end)
 *   end)
 *   Process.sleep(5000)
 *   Task.shutdown(task, :brutal_kill)  # Cancel stream
 *
 * In RxJS the task is a subscription and shutting it down is `unsubscribe()`.
 * The proof that Python saw the cancellation is the line `infinite_stream`
 * logs from its `finally` block, read from the worker's stderr.
 *
 * Run: npx tsx examples/cancellation.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { filter, firstValueFrom, map, Subject, timeout } from 'rxjs';
import { createPool, type PoolOptions } from 'snakepit-rx';
import type { ConsumerAdapterTools, Tick } from './generated/consumer-adapter.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

export interface CancellationReport {
  /** The ticks received before unsubscribing. */
  readonly received: Tick[];
  /** How many ticks the generator had yielded when it was closed, as its `finally` logged. */
  readonly ticksYielded: number;
  /** The worker's log line written by the generator's `finally`. */
  readonly closedLine: string;
}

export interface CancellationOptions {
  /** How long the stream runs before it is cancelled. The guide waits 5 s; 1 s shows the same. */
  readonly cancelAfterMs?: number;
  readonly print?: (line: string) => void;
}

const CLOSED_LINE = /infinite_stream closed after (\d+) ticks/;
/** How long the generator may take to close once cancelled; it is sleeping at most one `interval`. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Starts a pool (on the adapter of `poolOptions`, which must serve
 * `infinite_stream`), streams `infinite_stream`, cancels it after
 * `cancelAfterMs`, and resolves once the generator's `finally` has run.
 * The pool is closed before returning.
 */
export async function cancelInfiniteStream(
  poolOptions: PoolOptions,
  { cancelAfterMs = 1_000, print = console.log }: CancellationOptions = {},
): Promise<CancellationReport> {
  const workerLog = new Subject<string>();
  const pool = await createPool<ConsumerAdapterTools>({
    ...poolOptions,
    // infinite_stream logs its closing at INFO; workers log only warnings unless told otherwise.
    logLevel: 'INFO',
    // Reads the worker's log for the generator's closing line; the caller's onLog still sees every line.
    onLog: (line, workerId, record) => {
      poolOptions.onLog?.(line, workerId, record);
      workerLog.next(line);
    },
  });
  try {
    const received: Tick[] = [];
    const failures: unknown[] = [];
    const subscription = pool.stream('infinite_stream').subscribe({
      next: (chunk) => {
        print(`Received: ${inspect(chunk.data)}`);
        received.push(chunk.data);
      },
      error: (error: unknown) => failures.push(error),
    });
    await sleep(cancelAfterMs);
    if (failures.length > 0) throw failures[0];

    // Listen before cancelling, so the line cannot be missed; stderr lines arrive on a later tick.
    const closed = firstValueFrom(
      workerLog.pipe(
        map((line) => CLOSED_LINE.exec(line)),
        filter((match) => match !== null),
        timeout(CLOSE_TIMEOUT_MS),
      ),
    );
    subscription.unsubscribe();
    const match = await closed;
    print(`Cancelled after ${received.length} chunks; the generator's finally ran.`);
    return { received, ticksYielded: Number(match[1]), closedLine: match.input };
  } finally {
    await pool.close();
  }
}

if (isMain(import.meta.url)) {
  await cancelInfiniteStream(examplePoolOptions(adapters.consumer));
}
