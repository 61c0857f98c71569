/**
 * The guide's "Complete Streaming Example" Elixir consumer, `MyApp.MLClient`,
 * in TypeScript:
 *
 *   def train_model(epochs) do
 *     Logger.info("Starting training")
 *     result = Snakepit.execute_stream("train_with_progress", %{epochs: epochs}, fn chunk ->
 *       if chunk["status"] == "complete" do
 *         Logger.info("Complete! Model: #{chunk["model_id"]}")
 *       else
 *         Logger.info("Epoch #{chunk["epoch"]}: loss=#{chunk["loss"]}, acc=#{chunk["accuracy"]}")
 *       end
 *     end)
 *     case result do
 *       :ok -> {:ok, "Training completed"}
 *       {:error, e} -> {:error, e}
 *     end
 *   end
 *
 * Run: npx tsx examples/ml-client.ts [epochs]
 */
import { createPool, isSnakepitError, type SnakepitError, type SnakepitPool } from 'snakepit-rx';
import type { MLStreamingAdapterTools } from './generated/ml-streaming-adapter.js';
import { describeUpdate } from './ml-streaming.js';
import { adapters, examplePoolOptions, isMain } from './shared.js';

/** `{:ok, "Training completed"}` or `{:error, e}`. */
export type TrainResult = { readonly ok: 'Training completed' } | { readonly error: SnakepitError };

export class MLClient {
  /** `log` stands for Elixir's `Logger.info`. */
  constructor(
    private readonly pool: SnakepitPool<MLStreamingAdapterTools>,
    private readonly log: (message: string) => void = console.info,
  ) {}

  /** Trains for `epochs`, logging each epoch as it arrives. A failed training resolves to `{ error }`. */
  async trainModel(epochs: number): Promise<TrainResult> {
    this.log('Starting training');
    try {
      await this.pool.executeStream('train_with_progress', { epochs }, ({ data }) => this.log(describeUpdate(data)));
      return { ok: 'Training completed' };
    } catch (error) {
      // Only the library's errors are a training outcome; anything else is a bug here, and should surface as one.
      if (isSnakepitError(error)) return { error };
      throw error;
    }
  }
}

if (isMain(import.meta.url)) {
  const pool = await createPool<MLStreamingAdapterTools>(examplePoolOptions(adapters.mlStreaming));
  try {
    const result = await new MLClient(pool).trainModel(Number(process.argv[2] ?? 3));
    console.info(result);
  } finally {
    await pool.close();
  }
}
