/**
 * The guide's "Python Errors": an exception raised by the tool reaches Node
 * as the stream's error.
 *
 *   case Snakepit.execute_stream("may_fail", %{}, callback) do
 *     :ok -> IO.puts("Success")
 *     {:error, error} -> IO.puts("Failed: #{error.message}")
 *   end
 *
 * Run: npx tsx examples/error-handling.ts
 */
import { createPool, isSnakepitError, type Chunk, type SnakepitError, type SnakepitPool } from 'snakepit-rx';
import type { ConsumerAdapterTools, MayFailArguments, MayFailStep } from './generated/consumer-adapter.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

export type MayFailOutcome =
  | { readonly ok: true; readonly received: Chunk<MayFailStep>[] }
  | { readonly ok: false; readonly error: SnakepitError; readonly received: Chunk<MayFailStep>[] };

/**
 * Runs `may_fail` and prints `Success` or `Failed: <message>`. Resolves with
 * the outcome and the chunks that arrived before it; rejects only with an
 * error that is not the library's.
 */
export async function runMayFail(
  pool: SnakepitPool<ConsumerAdapterTools>,
  // may_fail raises at step `fail_at`, or never when that is null.
  args: MayFailArguments = {},
  print: (line: string) => void = console.log,
): Promise<MayFailOutcome> {
  const received: Chunk<MayFailStep>[] = [];
  try {
    await pool.executeStream('may_fail', args, (chunk) => {
      received.push(chunk);
    });
    print('Success');
    return { ok: true, received };
  } catch (error) {
    if (!isSnakepitError(error)) throw error;
    // A Python exception has code 'python_error'; pythonType and pythonTraceback tell more.
    print(`Failed: ${error.message}`);
    return { ok: false, error, received };
  }
}

if (isMain(import.meta.url)) {
  const pool = await createPool<ConsumerAdapterTools>(examplePoolOptions(adapters.consumer));
  try {
    await runMayFail(pool);
    await runMayFail(pool, { fail_at: null });
  } finally {
    await pool.close();
  }
}
