/** What the guide's `MLStreamingAdapter.train_with_progress` yields, shared by the demo and `MLClient`. */
import type { MLStreamingAdapterTools, TrainingComplete } from './generated/ml-streaming-adapter.js';

/** One update per epoch, then the completion (the types Python's annotations give, generated). */
export type TrainingUpdate = MLStreamingAdapterTools['train_with_progress']['data'];

export function isTrainingComplete(update: TrainingUpdate): update is TrainingComplete {
  return 'status' in update && update.status === 'complete';
}

/** The line the guide's consumer logs for an update. */
export function describeUpdate(update: TrainingUpdate): string {
  return isTrainingComplete(update)
    ? `Complete! Model: ${update.model_id}`
    : `Epoch ${update.epoch}: loss=${update.loss}, acc=${update.accuracy}`;
}
