/**
 * Demo: the guide's complete streaming example. A Python worker trains a
 * (pretend) model in `MLStreamingAdapter.train_with_progress`, yielding one
 * update per epoch; each is shown the moment it arrives, as a progress bar
 * on a terminal and as lines otherwise.
 *
 * Run: npm run demo          (10 epochs, half a second each)
 *      npx tsx examples/train-with-progress.ts 4
 */
import { tap } from 'rxjs';
import { createPool, type SnakepitPool } from 'snakepit-rx';
import { reduceProgress } from 'snakepit-rx/operators';
import { renderProgress, type ProgressOutput } from './progress-display.js';
import type { MLStreamingAdapterTools } from './generated/ml-streaming-adapter.js';
import { describeUpdate, type TrainingUpdate } from './ml-streaming.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

/**
 * Trains for `epochs`, showing each update as it arrives: as a live progress
 * bar (rate and ETA from `reduceProgress`) on a terminal, or as plain lines
 * in a log: the epoch lines plus, at most once a second, a progress line.
 */
export async function showTraining(
  pool: SnakepitPool<MLStreamingAdapterTools>,
  epochs: number,
  output: ProgressOutput = process.stdout,
): Promise<void> {
  const onTerminal = output.isTTY === true;
  const chunks$ = pool.stream('train_with_progress', { epochs });
  const progress$ = (onTerminal ? chunks$ : chunks$.pipe(tap((chunk) => output.write(`${describeUpdate(chunk.data)}\n`)))).pipe(
    reduceProgress<TrainingUpdate>({ total: epochs }),
  );
  const last = await renderProgress(progress$, 'Training', { stream: output });
  if (onTerminal && last?.last !== undefined) output.write(`${describeUpdate(last.last)}\n`);
}

if (isMain(import.meta.url)) {
  const pool = await createPool<MLStreamingAdapterTools>(examplePoolOptions(adapters.mlStreaming));
  try {
    await showTraining(pool, Number(process.argv[2] ?? 10));
  } finally {
    await pool.close();
  }
}
