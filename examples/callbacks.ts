/**
 * The guide's two callback styles, on `stream_progress` (the guide's
 * "Enabling Streaming" tool):
 *
 *   # Logging
 *   callback = fn chunk -> IO.inspect(chunk) end
 *   # Sending to another process
 *   callback = fn chunk -> send(consumer_pid, {:chunk, chunk}) end
 *
 * Node has no processes to send to; the RxJS counterpart of a mailbox is a
 * Subject: the callback pushes into it, and a consumer elsewhere sees only
 * its Observable side.
 *
 * Run: npx tsx examples/callbacks.ts
 */
import { inspect } from 'node:util';
import { firstValueFrom, Subject, tap, toArray, type Observable } from 'rxjs';
import { chunkData, createPool, type Chunk, type ChunkCallback, type SnakepitPool } from 'snakepit-rx';
import type { MyAdapterTools, ProgressStep } from './generated/my-adapter.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

/** The logging style: the callback prints each chunk. Resolves with what it printed. */
export async function logChunks(
  pool: SnakepitPool<MyAdapterTools>,
  steps: number,
  print: (line: string) => void = console.log,
): Promise<string[]> {
  const printed: string[] = [];
  const callback: ChunkCallback<ProgressStep> = (chunk) => {
    const line = inspect(chunk, { breakLength: Infinity });
    printed.push(line);
    print(line);
  };
  await pool.executeStream('stream_progress', { steps }, callback);
  return printed;
}

/**
 * Stands for the process at `consumer_pid`: it knows nothing of the pool,
 * only the stream of chunks it is sent, and reports what it did with them.
 */
function startConsumer(inbox: Observable<Chunk<ProgressStep>>, print: (line: string) => void): Promise<ProgressStep[]> {
  return firstValueFrom(
    inbox.pipe(
      // Each chunk's step; the synthetic final chunk only marks the end, and is dropped.
      chunkData(),
      tap((step) => print(`consumer: step ${step.step}/${step.total} (${step.progress.toFixed(0)}%)`)),
      toArray(),
    ),
  );
}

/**
 * The "sending to another process" style: the callback only forwards each
 * chunk to a Subject; the consumer subscribed to it does the work. Resolves
 * with the steps the consumer received. A failed stream reaches the consumer
 * as the Subject's error, and rejects.
 */
export async function sendToConsumer(
  pool: SnakepitPool<MyAdapterTools>,
  steps: number,
  print: (line: string) => void = console.log,
): Promise<ProgressStep[]> {
  const mailbox = new Subject<Chunk<ProgressStep>>();
  // A Subject drops what it is sent before anyone subscribes: start the consumer first.
  const consumed = startConsumer(mailbox, print);
  await pool
    .executeStream('stream_progress', { steps }, (chunk) => mailbox.next(chunk))
    .then(
      () => mailbox.complete(),
      (error: unknown) => mailbox.error(error),
    );
  return consumed;
}

if (isMain(import.meta.url)) {
  const pool = await createPool<MyAdapterTools>(examplePoolOptions(adapters.my));
  try {
    console.log('# Logging');
    await logChunks(pool, 3);
    console.log('# Sending to a consumer');
    await sendToConsumer(pool, 3);
  } finally {
    await pool.close();
  }
}
