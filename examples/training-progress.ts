/**
 * The guide's "Training Progress" consumer: `train_model` yields progress
 * updates, then a completion; the callback switches on their `type`.
 *
 *   :ok = Snakepit.execute_stream("train_model", %{epochs: 10}, fn chunk ->
 *     case chunk["type"] do
 *       "progress" -> IO.puts("Epoch #{chunk["epoch"]}: loss=#{chunk["loss"]}")
 *       "complete" -> IO.puts("Training complete!")
 *     end
 *   end)
 *
 * Run: npx tsx examples/training-progress.ts [epochs]
 */
import { createPool, isSyntheticFinal, type SnakepitPool } from 'snakepit-rx';
import type { EpochProgress, GuideAdapterTools, TrainingComplete } from './generated/guide-adapter.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

export interface TrainingReport {
  readonly progress: EpochProgress[];
  readonly complete: TrainingComplete | undefined;
}

/** Trains for `epochs`, printing each update; resolves with the updates once training is over. */
export async function trainModel(
  pool: SnakepitPool<GuideAdapterTools>,
  epochs: number,
  print: (line: string) => void = console.log,
): Promise<TrainingReport> {
  const progress: EpochProgress[] = [];
  let complete: TrainingComplete | undefined;
  // train_model yields a discriminated union (EpochProgress | TrainingComplete): the `switch` narrows each case.
  await pool.executeStream('train_model', { epochs }, (chunk) => {
    // train_model yields plain dicts, so the stream ends with a synthetic final chunk whose data is null.
    if (isSyntheticFinal(chunk)) return;
    const update = chunk.data;
    switch (update.type) {
      case 'progress':
        progress.push(update);
        print(`Epoch ${update.epoch}: loss=${update.loss}`);
        break;
      case 'complete':
        complete = update;
        print('Training complete!');
        break;
    }
  });
  return { progress, complete };
}

if (isMain(import.meta.url)) {
  const pool = await createPool<GuideAdapterTools>(examplePoolOptions(adapters.guide));
  try {
    await trainModel(pool, Number(process.argv[2] ?? 10));
  } finally {
    await pool.close();
  }
}
