import { catchError, concat, defer, map, of, type Observable } from 'rxjs';
import { reduceProgress, type Progress, type SnakepitError } from 'snakepit-rx/browser';
import type { EpochUpdate, TrainingComplete } from '../../../generated/ml-streaming-adapter';
import type { SnakepitService } from './snakepit.service';

/** What the guide's `train_with_progress` yields (from the adapter's annotations): one update per epoch, then `complete`. */
export type TrainingUpdate = EpochUpdate | TrainingComplete;

export type { EpochUpdate };

/** Everything the page shows of one run. */
export interface TrainingView {
  readonly running: boolean;
  readonly progress: Progress<TrainingUpdate> | undefined;
  readonly epochs: readonly EpochUpdate[];
  readonly modelId: string | undefined;
  readonly error: SnakepitError | undefined;
}

export const IDLE: TrainingView = { running: false, progress: undefined, epochs: [], modelId: undefined, error: undefined };

function isEpoch(update: TrainingUpdate | undefined): update is EpochUpdate {
  return update !== undefined && 'epoch' in update;
}

/** One training run as views: the bar from `reduceProgress`, a line per epoch, the model, or the error. */
export function train(snakepit: SnakepitService, epochs: number): Observable<TrainingView> {
  return defer(() => {
    let view: TrainingView = { ...IDLE, running: true };
    const updates = snakepit.client.stream('train_with_progress', { epochs }).pipe(
      reduceProgress<TrainingUpdate>({ total: epochs }),
      map((progress) => {
        const last = progress.last;
        const newEpoch = isEpoch(last) && !view.epochs.some((line) => line.epoch === last.epoch);
        view = {
          ...view,
          progress,
          epochs: newEpoch ? [...view.epochs, last] : view.epochs,
          modelId: last !== undefined && 'model_id' in last ? last.model_id : view.modelId,
        };
        return view;
      }),
    );
    return concat(
      of(view),
      updates,
      defer(() => of({ ...view, running: false })),
    ).pipe(catchError((error: SnakepitError) => of({ ...view, running: false, error })));
  });
}
