import { Subject, type Observable } from 'rxjs';
import type { PoolEvent, PoolEventInit } from '../public-types.js';

/** Where a pool's events come from: the one place that stamps their time. */
export class PoolEventSource {
  private readonly subject = new Subject<PoolEvent>();
  /** Hot: what happens from subscription on; completes when the pool closes. */
  readonly events$: Observable<PoolEvent> = this.subject.asObservable();

  /** Reports an event, stamped with `Date.now()`. */
  readonly emit = (event: PoolEventInit): void => {
    this.subject.next({ ...event, at: Date.now() });
  };

  complete(): void {
    this.subject.complete();
  }
}
