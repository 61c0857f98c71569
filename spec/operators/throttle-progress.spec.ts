import { mergeMap, of, queueScheduler, Subject, throttleTime } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { throttleProgress, type Progress } from 'snakepit-rx/operators';
import { createTestScheduler, progressState, spyScheduler } from './chunk-fixtures.js';

const values = {
  a: progressState({ current: 1 }),
  b: progressState({ current: 2 }),
  c: progressState({ current: 3 }),
  d: progressState({ current: 4 }),
  e: progressState({ current: 5 }),
  D: progressState({ current: 6, fraction: 1, percent: 100, etaMs: 0, done: true }),
};

describe('throttleProgress', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should emit leading and trailing states, and the done state at once, as its doc diagram shows', () => {
    testScheduler.run(({ hot, time, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-bc--------d-e-D|', values);
      const e1subs = '   ^-----------------!';
      const t = time('    -----|');
      const expected = ' -a----c------d---D|';

      expectObservable(e1.pipe(throttleProgress(t))).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should mirror states that come slower than the window', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a------b------c-|', values);
      const e1subs = '   ^----------------!';
      const expected = ' -a------b------c-|';

      expectObservable(e1.pipe(throttleProgress(5))).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should open a new window with a trailing state', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   abcdeabcde|', values);
      const expected = ' a---e---d-(e|)';

      expectObservable(e1.pipe(throttleProgress(4))).toBe(expected, values);
    });
  });

  it('should emit the done state at once and drop the state waiting for its window', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -a-b-D---------|', values);
      const expected = ' -a---D---------|';

      expectObservable(e1.pipe(throttleProgress(10))).toBe(expected, values);
    });
  });

  it('should throttle states that follow a done state afresh', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -D-a-b-c-|', values);
      const expected = ' -D-a-----(c|)';

      expectObservable(e1.pipe(throttleProgress(10))).toBe(expected, values);
    });
  });

  it('should emit the waiting state at once when the source completes', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-b-|', values);
      const e1subs = '   ^----!';
      const expected = ' -a---(b|)';

      expectObservable(e1.pipe(throttleProgress(10))).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should emit the waiting state before the error', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-b-#', values, new Error('worker died'));
      const e1subs = '   ^----!';
      const expected = ' -a---(b#)';

      expectObservable(e1.pipe(throttleProgress(10))).toBe(expected, values, new Error('worker died'));
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should pass on states of one turn at once, the first and the last, when ms is 0', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -(abc)-d-|', values);
      const expected = ' -(ac)--d-|';

      expectObservable(e1.pipe(throttleProgress(0))).toBe(expected, values);
    });
  });

  it('should clear its window when unsubscribed', () => {
    const spy = spyScheduler();
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-b-----|', values);
      const e1subs = '   ^--!';
      const expected = ' -a--';
      const unsub = '    ---!';

      expectObservable(e1.pipe(throttleProgress(5, spy.scheduler)), unsub).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(spy.counts).toEqual({ scheduled: 1, ran: 0, cancelled: 1 });
  });

  it('should not break unsubscription chains when unsubscribed explicitly', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-b-----c---|', values);
      const e1subs = '   ^-------!';
      const expected = ' -a----b--';
      const unsub = '    --------!';

      const result = e1.pipe(
        mergeMap((x) => of(x)),
        throttleProgress(5),
        mergeMap((x) => of(x)),
      );

      expectObservable(result, unsub).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  describe('standard behaviour', () => {
    it('should complete at once on an empty source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Progress>('  |');
        const e1subs = '            (^!)';
        const expected = '          |';

        expectObservable(e1.pipe(throttleProgress(5))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not emit on a never source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Progress>('  -');
        const e1subs = '            ^';
        const expected = '          -';

        expectObservable(e1.pipe(throttleProgress(5))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on the error of a source that fails at once', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Progress>('  #');
        const e1subs = '            (^!)';
        const expected = '          #';

        expectObservable(e1.pipe(throttleProgress(5))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should emit the first and the last state of a synchronous source', () => {
      testScheduler.run(({ expectObservable }) => {
        const expected = '(ac|)';

        expectObservable(of(values.a, values.b, values.c).pipe(throttleProgress(5))).toBe(expected, values);
      });
    });

    it('should throttle a state that the consumer makes the source emit while it handles one', () => {
      const received: Array<[number, number]> = [];
      testScheduler.run(() => {
        const source = new Subject<Progress>();
        source.pipe(throttleProgress(5)).subscribe((p) => {
          received.push([testScheduler.now(), p.current]);
          if (p.current === 1) source.next(values.b);
        });
        testScheduler.schedule(() => source.next(values.a), 1);
      });

      expect(received).toEqual([
        [1, 1],
        [6, 2],
      ]);
    });
  });

  it('should keep passing states on with a scheduler that runs a 0 ms window at once, as throttleTime does', () => {
    // queueScheduler runs work of no delay synchronously: the window has closed before schedule() returns.
    const source = new Subject<Progress>();
    const received: number[] = [];
    const throttled: number[] = [];
    source.pipe(throttleProgress(0, queueScheduler)).subscribe((p) => received.push(p.current));
    source.pipe(throttleTime(0, queueScheduler, { leading: true, trailing: true })).subscribe((p) => throttled.push(p.current));

    source.next(values.a);
    source.next(values.b);
    source.next(values.c);

    expect(throttled).toEqual([1, 2, 3]);
    expect(received).toEqual(throttled);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('should throw a TypeError for ms %s', (ms) => {
    expect(() => throttleProgress(ms)).toThrow(TypeError);
  });
});
