import { mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, it } from 'vitest';
import { toChunkArray, type Chunk } from 'snakepit-rx/operators';
import { chunk, createTestScheduler, finalChunk, syntheticFinal } from './chunk-fixtures.js';

const values = {
  a: chunk(0, 'a'),
  b: chunk(1, 'b'),
  c: chunk(3, 'c'),
  Z: finalChunk(2, 'Z'),
  S: syntheticFinal<string>(2),
};
const { a, b, Z, S } = values;

describe('toChunkArray', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should emit every chunk up to the final one in one array, as its doc diagram shows', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   --a----b----Z--', values);
      const e1subs = '   ^-----------!';
      const expected = ' ------------(x|)';

      expectObservable(e1.pipe(toChunkArray())).toBe(expected, { x: [a, b, Z] });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should keep a synthetic final chunk, whose metadata tells the execution time', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -a-S-c-', values);
      const expected = ' ---(x|)';

      expectObservable(e1.pipe(toChunkArray())).toBe(expected, { x: [a, S] });
    });
  });

  it('should emit what it has when the source completes before a final chunk', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -a-b-|', values);
      const expected = ' -----(x|)';

      expectObservable(e1.pipe(toChunkArray())).toBe(expected, { x: [a, b] });
    });
  });

  describe('standard behaviour', () => {
    it('should emit an empty array for an empty source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  |');
        const e1subs = '                 (^!)';
        const expected = '               (x|)';

        expectObservable(e1.pipe(toChunkArray())).toBe(expected, { x: [] });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not emit on a never source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  -');
        const e1subs = '                 ^';
        const expected = '               -';

        expectObservable(e1.pipe(toChunkArray())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on an error and drop what it gathered, as toArray does', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-#', values);
        const e1subs = '   ^----!';
        const expected = ' -----#';

        expectObservable(e1.pipe(toChunkArray())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should gather a synchronous source', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(of(a, b, Z, values.c).pipe(toChunkArray())).toBe('(x|)', { x: [a, b, Z] });
      });
    });

    it('should not break unsubscription chains when unsubscribed explicitly', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a--b--Z|', values);
        const e1subs = '   ^---!';
        const expected = ' -----';
        const unsub = '    ----!';

        const result = e1.pipe(
          mergeMap((x) => of(x)),
          toChunkArray(),
          mergeMap((x) => of(x)),
        );

        expectObservable(result, unsub).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });
  });
});
