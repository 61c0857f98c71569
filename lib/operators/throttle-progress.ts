import { asyncScheduler, Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Progress } from './progress.js';

/**
 * Limits progress states to one per `ms`, for a display, without losing the
 * latest: like `throttleTime(ms, scheduler, { leading: true, trailing: true })`,
 * except that the `done` state passes at once and nothing stale follows it.
 *
 * ```
 * source:  -a-bc--------d-e-D|      D: done
 *          throttleProgress(5)
 * output:  -a----c------d---D|
 * ```
 *
 * The first state of a quiet spell is emitted at once and opens a window of
 * `ms`; the latest state received during the window is emitted when it ends,
 * and opens a new window. A `done` state is emitted at once and discards the
 * state waiting for its window. On completion or error a waiting state is
 * emitted at once, before the notification, instead of waiting for its window
 * as `throttleTime` does: the stream is over, the display should show its end.
 *
 * @param ms The least time between two states, in ms (finite, >= 0).
 * @param scheduler Times the windows. Default `asyncScheduler`.
 *
 * @example
 * ```ts
 * chunks$.pipe(reduceProgress(), throttleProgress(100)).subscribe(render);
 * ```
 */
export function throttleProgress<T>(ms: number, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<Progress<T>> {
  if (!(Number.isFinite(ms) && ms >= 0)) {
    throw new TypeError(`throttleProgress: ms must be a finite number >= 0, got ${String(ms)}`);
  }
  return (source) =>
    new Observable<Progress<T>>((subscriber) => {
      let window: Subscription | undefined;
      let waiting: Progress<T> | undefined;

      const emit = (state: Progress<T>): void => {
        // The window opens before delivery, so that a state the consumer
        // causes synchronously is throttled too.
        let ended = false;
        const opened = scheduler.schedule(() => {
          ended = true;
          endWindow();
        }, ms);
        // A scheduler may run the end at once (queueScheduler with 0 ms):
        // that window is over, and keeping it would hold every later state.
        if (!ended) window = opened;
        subscriber.next(state);
      };
      const endWindow = (): void => {
        window = undefined;
        const state = waiting;
        waiting = undefined;
        if (state !== undefined) emit(state);
      };
      const takeWaiting = (): Progress<T> | undefined => {
        window?.unsubscribe();
        window = undefined;
        const state = waiting;
        waiting = undefined;
        return state;
      };
      const flushThen = (notify: () => void): void => {
        const state = takeWaiting();
        if (state !== undefined) subscriber.next(state);
        notify();
      };

      const subscription = source.subscribe({
        next: (state) => {
          if (state.done) {
            takeWaiting();
            subscriber.next(state);
          } else if (window !== undefined) {
            waiting = state;
          } else {
            emit(state);
          }
        },
        error: (error: unknown) => flushThen(() => subscriber.error(error)),
        complete: () => flushThen(() => subscriber.complete()),
      });

      return () => {
        subscription.unsubscribe();
        window?.unsubscribe();
      };
    });
}
