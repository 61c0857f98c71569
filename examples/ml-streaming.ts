/** What the guide's `MLStreamingAdapter.train_with_progress` yields, shared by the demo and `MLClient`. */

/** One chunk per epoch. */
export interface EpochUpdate {
  readonly epoch: number;
  /** Rounded to 4 decimals by the tool. */
  readonly loss: number;
  readonly accuracy: number;
}

/** The last chunk, marked final by the tool. */
export interface TrainingComplete {
  readonly status: 'complete';
  /** `model_<unix time>`. */
  readonly model_id: string;
}

export type TrainingUpdate = EpochUpdate | TrainingComplete;

export function isTrainingComplete(update: TrainingUpdate): update is TrainingComplete {
  return 'status' in update && update.status === 'complete';
}

/** The line the guide's consumer logs for an update. */
export function describeUpdate(update: TrainingUpdate): string {
  return isTrainingComplete(update)
    ? `Complete! Model: ${update.model_id}`
    : `Epoch ${update.epoch}: loss=${update.loss}, acc=${update.accuracy}`;
}
