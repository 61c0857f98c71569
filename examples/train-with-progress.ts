/**
 * Demo: the guide's complete streaming example. A Python worker trains a
 * (pretend) model in `MLStreamingAdapter.train_with_progress`, yielding one
 * update per epoch; each is printed the moment it arrives.
 *
 * Run: npm run demo          (10 epochs, half a second each)
 *      npx tsx examples/train-with-progress.ts 4
 */
import { lastValueFrom, tap } from 'rxjs';
import { createPool, type Chunk, type SnakepitPool } from 'snakepit-rx';
import { describeUpdate, type TrainingUpdate } from './ml-streaming.js';
import { adaptersDir, isMain } from './shared.js';

/** Trains for `epochs`, printing each update; resolves with the final chunk. */
export async function trainWithProgress(
  pool: SnakepitPool,
  epochs = 10,
  print: (line: string) => void = console.log,
): Promise<Chunk<TrainingUpdate>> {
  const chunks$ = pool.stream<TrainingUpdate>('train_with_progress', { epochs });
  return lastValueFrom(
    chunks$.pipe(
      tap((chunk) => print(describeUpdate(chunk.data))),
    ),
  );
}

if (isMain(import.meta.url)) {
  const pool = await createPool({
    adapter: 'ml_streaming_adapter.MLStreamingAdapter',
    size: 1,
    // The directory of ml_streaming_adapter.py, for the worker to import it from.
    pythonPath: adaptersDir,
  });
  try {
    await trainWithProgress(pool, Number(process.argv[2] ?? 10));
  } finally {
    await pool.close();
  }
}
