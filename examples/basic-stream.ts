/**
 * The guide's "Basic Example": stream `process_items` and handle each chunk
 * in a callback.
 *
 *   :ok = Snakepit.execute_stream("process_items", %{items: list}, fn chunk ->
 *     IO.puts("Received: #{inspect(chunk)}")
 *   end)
 *
 * Run: npx tsx examples/basic-stream.ts
 */
import { inspect } from 'node:util';
import { createPool, type Chunk, type SnakepitPool } from 'snakepit-rx';
import type { ConsumerAdapterTools, ProcessedItem } from './generated/consumer-adapter.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

/**
 * Streams the items through `process_items`, printing each chunk as it
 * arrives; resolves with the chunks once the stream has completed.
 */
export async function processItems(
  pool: SnakepitPool<ConsumerAdapterTools>,
  items: readonly unknown[],
  print: (line: string) => void = console.log,
): Promise<Chunk<ProcessedItem>[]> {
  const received: Chunk<ProcessedItem>[] = [];
  // Resolving is the `:ok`; a failed stream rejects with a SnakepitError.
  await pool.executeStream('process_items', { items: [...items] }, (chunk) => {
    print(`Received: ${inspect(chunk, { breakLength: Infinity })}`);
    received.push(chunk);
  });
  return received;
}

if (isMain(import.meta.url)) {
  const pool = await createPool<ConsumerAdapterTools>(examplePoolOptions(adapters.consumer));
  try {
    await processItems(pool, ['apple', 'banana', 'cherry']);
  } finally {
    await pool.close();
  }
}
