import { mergeMap, of, Subject } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { takeUntilFinal, type Chunk } from 'snakepit-rx/operators';
import { chunk, createTestScheduler, finalChunk, syntheticFinal } from './chunk-fixtures.js';

const values = {
  a: chunk(0, 'a'),
  b: chunk(1, 'b'),
  c: chunk(3, 'c'),
  Z: finalChunk(2, 'Z'),
  S: syntheticFinal<string>(2),
};

describe('takeUntilFinal', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should emit up to and including the final chunk, then complete, as its doc diagram shows', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   --a----b----Z----c--|', values);
      const e1subs = '   ^-----------!';
      const expected = ' --a----b----(Z|)';

      expectObservable(e1.pipe(takeUntilFinal())).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should complete at a synthetic final chunk, emitting it', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-S-b-', values);
      const e1subs = '   ^--!';
      const expected = ' -a-(S|)';

      expectObservable(e1.pipe(takeUntilFinal())).toBe(expected, values);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should mirror a source that completes before any final chunk', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -a-b-|', values);
      const expected = ' -a-b-|';

      expectObservable(e1.pipe(takeUntilFinal())).toBe(expected, values);
    });
  });

  describe('standard behaviour', () => {
    it('should complete at once on an empty source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  |');
        const e1subs = '                 (^!)';
        const expected = '               |';

        expectObservable(e1.pipe(takeUntilFinal())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not emit on a never source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  -');
        const e1subs = '                 ^';
        const expected = '               -';

        expectObservable(e1.pipe(takeUntilFinal())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on an error that comes before the final chunk', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-#', values);
        const e1subs = '   ^--!';
        const expected = ' -a-#';

        expectObservable(e1.pipe(takeUntilFinal())).toBe(expected, values);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should stop at the final chunk of a synchronous source', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(of(values.a, values.Z, values.c).pipe(takeUntilFinal())).toBe('(aZ|)', values);
      });
    });

    it('should not break unsubscription chains when unsubscribed explicitly', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a--b--Z|', values);
        const e1subs = '   ^--!';
        const expected = ' -a--';
        const unsub = '    ---!';

        const result = e1.pipe(
          mergeMap((x) => of(x)),
          takeUntilFinal(),
          mergeMap((x) => of(x)),
        );

        expectObservable(result, unsub).toBe(expected, values);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should complete when the consumer makes the source emit the final chunk while it handles one', () => {
      const source = new Subject<Chunk<string>>();
      const seen: string[] = [];
      let completed = false;
      source.pipe(takeUntilFinal()).subscribe({
        next: (x) => {
          seen.push(x.data);
          if (x.data === 'a') source.next(values.Z);
        },
        complete: () => (completed = true),
      });

      source.next(values.a);
      source.next(values.b);

      expect(seen).toEqual(['a', 'Z']);
      expect(completed).toBe(true);
    });
  });
});
