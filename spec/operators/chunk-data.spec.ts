import { mergeMap, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, it } from 'vitest';
import { chunkData, type Chunk } from 'snakepit-rx/operators';
import { chunk, createTestScheduler, finalChunk, syntheticFinal } from './chunk-fixtures.js';

type Numbered = { number: number; is_last: boolean };

const values = {
  a: chunk<Numbered>(0, { number: 0, is_last: false }),
  b: chunk<Numbered>(1, { number: 1, is_last: true }),
  S: syntheticFinal<Numbered>(2),
  Z: finalChunk<Numbered>(2, { number: 2, is_last: true }),
};
const data = { A: values.a.data, B: values.b.data, Z: values.Z.data };

describe('chunkData', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should map chunks to their payloads and drop a synthetic final chunk, as its doc diagram shows', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   --a----b----S|', values);
      const e1subs = '   ^------------!';
      const expected = ' --A----B-----|';

      expectObservable(e1.pipe(chunkData())).toBe(expected, data);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should emit the payload of a final chunk the tool marked itself', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -a-Z|', values);
      const expected = ' -A-Z|';

      expectObservable(e1.pipe(chunkData())).toBe(expected, data);
    });
  });

  it('should emit a null payload of a chunk that is not a synthetic final one', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('   -n-|', { n: finalChunk(0, null) });
      const expected = ' -x-|';

      expectObservable(e1.pipe(chunkData())).toBe(expected, { x: null });
    });
  });

  describe('standard behaviour', () => {
    it('should complete at once on an empty source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<Numbered>>('  |');
        const e1subs = '                   (^!)';
        const expected = '                 |';

        expectObservable(e1.pipe(chunkData())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not emit on a never source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<Numbered>>('  -');
        const e1subs = '                   ^';
        const expected = '                 -';

        expectObservable(e1.pipe(chunkData())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on an error after the payloads before it', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-#', values);
        const e1subs = '   ^--!';
        const expected = ' -A-#';

        expectObservable(e1.pipe(chunkData())).toBe(expected, data);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should handle a synchronous source', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(of(values.a, values.b, values.S).pipe(chunkData())).toBe('(AB|)', data);
      });
    });

    it('should not break unsubscription chains when unsubscribed explicitly', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a--b--S|', values);
        const e1subs = '   ^--!';
        const expected = ' -A--';
        const unsub = '    ---!';

        const result = e1.pipe(
          mergeMap((x) => of(x)),
          chunkData(),
          mergeMap((x) => of(x)),
        );

        expectObservable(result, unsub).toBe(expected, data);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });
  });
});
