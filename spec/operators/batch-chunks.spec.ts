import { mergeMap, of, Subject, take } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchChunks, type Chunk } from 'snakepit-rx/operators';
import { chunk, createTestScheduler, finalChunk, spyScheduler } from './chunk-fixtures.js';

const values = {
  a: chunk(0, 'a'),
  b: chunk(1, 'b'),
  c: chunk(2, 'c'),
  d: chunk(3, 'd'),
  e: chunk(4, 'e'),
  f: chunk(5, 'f'),
  Z: finalChunk(6, 'Z'),
};
const { a, b, c, d, e, f, Z } = values;

/** A chunk whose payload is `bytes` bytes long. */
function binary(index: number, bytes: number): Chunk<Uint8Array> {
  return chunk(index, new Uint8Array(bytes));
}

describe('batchChunks', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should batch by count, by wait and at the final chunk, as its doc diagram shows', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-b-c----d-e---------f-Z|', values);
      const e1subs = '   ^------------------------!';
      const expected = ' -----x---------y--------z|';

      expectObservable(e1.pipe(batchChunks({ maxCount: 3, maxWait: 5 }))).toBe(expected, {
        x: [a, b, c],
        y: [d, e],
        z: [f, Z],
      });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  describe('flush triggers', () => {
    it('should emit a batch when it reaches maxCount chunks', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-c-d-e-f-|', values);
        const e1subs = '   ^------------!';
        const expected = ' ---x---y---z-|';

        expectObservable(e1.pipe(batchChunks({ maxCount: 2 }))).toBe(expected, { x: [a, b], y: [c, d], z: [e, f] });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should emit a batch when maxWait has passed since its first chunk', () => {
      testScheduler.run(({ hot, time, expectObservable }) => {
        const e1 = hot('   -a-b------c-d-------|', values);
        const t = time('    ----|');
        const expected = ' -----x--------y-----|';

        expectObservable(e1.pipe(batchChunks({ maxWait: t }))).toBe(expected, { x: [a, b], y: [c, d] });
      });
    });

    it('should emit a batch when its payload reaches maxBytes', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const bytes = { a: binary(0, 3), b: binary(1, 5), c: binary(2, 2), d: binary(3, 6) };
        const e1 = hot('   -a-b-c-d-|', bytes);
        const expected = ' ---x---y-|';

        expectObservable(e1.pipe(batchChunks({ maxBytes: 8 }))).toBe(expected, {
          x: [bytes.a, bytes.b],
          y: [bytes.c, bytes.d],
        });
      });
    });

    it('should start a new batch with a chunk that would take the batch past maxBytes', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const bytes = { a: binary(0, 3), b: binary(1, 4), c: binary(2, 6), d: binary(3, 1) };
        const e1 = hot('   -a-b-c-d-|', bytes);
        const expected = ' -----x---(y|)';

        expectObservable(e1.pipe(batchChunks({ maxBytes: 8 }))).toBe(expected, {
          x: [bytes.a, bytes.b],
          y: [bytes.c, bytes.d],
        });
      });
    });

    it('should emit a chunk larger than maxBytes alone, after the batch before it', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const bytes = { a: binary(0, 2), b: binary(1, 100), c: binary(2, 2) };
        const e1 = hot('   -a-b-c-|', bytes);
        const expected = ' ---(xy)(z|)';

        expectObservable(e1.pipe(batchChunks({ maxBytes: 8 }))).toBe(expected, {
          x: [bytes.a],
          y: [bytes.b],
          z: [bytes.c],
        });
      });
    });

    it('should count JSON payloads by the UTF-8 length of their JSON text', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        // '{"n":"é"}' is 10 bytes ("é" takes 2) and '{"n":"x"}' 9: together they reach 19.
        const json = { a: chunk(0, { n: 'é' }), b: chunk(1, { n: 'x' }), c: chunk(2, { n: 'x' }) };
        const e1 = hot('   -a-b-c-|', json);
        const expected = ' ---x---(y|)';

        expectObservable(e1.pipe(batchChunks({ maxBytes: 19 }))).toBe(expected, {
          x: [json.a, json.b],
          y: [json.c],
        });
      });
    });

    it('should end a batch with the final chunk', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const e1 = hot('   -a-b-Z-c-|', values);
        const expected = ' -----x---(y|)';

        expectObservable(e1.pipe(batchChunks({ maxCount: 10 }))).toBe(expected, { x: [a, b, Z], y: [c] });
      });
    });

    it('should emit the pending batch when the source completes', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const e1 = hot('   -a-b---|', values);
        const expected = ' -------(x|)';

        expectObservable(e1.pipe(batchChunks({ maxCount: 10, maxWait: 100, maxBytes: 1000 }))).toBe(expected, {
          x: [a, b],
        });
      });
    });

    it('should restart the wait with the first chunk of each batch', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const e1 = hot('   -a-b-c-------d-|', values);
        const expected = ' ---x-------y---(z|)';

        // b closes the first batch by count; the wait of 6 then runs from c, not from a.
        expectObservable(e1.pipe(batchChunks({ maxCount: 2, maxWait: 6 }))).toBe(expected, {
          x: [a, b],
          y: [c],
          z: [d],
        });
      });
    });

    it('should gather the chunks of one turn when maxWait is 0', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const e1 = hot('   -(abc)-d-|', values);
        const expected = ' -x-----y-|';

        expectObservable(e1.pipe(batchChunks({ maxWait: 0 }))).toBe(expected, { x: [a, b, c], y: [d] });
      });
    });
  });

  describe('errors and teardown', () => {
    it('should emit the pending batch before the error', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-#', values, new Error('worker died'));
        const e1subs = '   ^----!';
        const expected = ' -----(x#)';

        expectObservable(e1.pipe(batchChunks({ maxCount: 10 }))).toBe(expected, { x: [a, b] }, new Error('worker died'));
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on an error with no pending batch without emitting an empty one', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const e1 = hot('   -a-b-#', values);
        const expected = ' ---x-#';

        expectObservable(e1.pipe(batchChunks({ maxCount: 2 }))).toBe(expected, { x: [a, b] });
      });
    });

    it('should clear its timer when unsubscribed', () => {
      const spy = spyScheduler();
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-------|', values);
        const e1subs = '   ^---!';
        const expected = ' -----';
        const unsub = '    ----!';

        expectObservable(e1.pipe(batchChunks({ maxWait: 5, scheduler: spy.scheduler })), unsub).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
      expect(spy.counts).toEqual({ scheduled: 1, ran: 0, cancelled: 1 });
    });

    it('should clear the timer of a batch that closes for another reason', () => {
      const spy = spyScheduler();
      testScheduler.run(({ hot, expectObservable }) => {
        const e1 = hot('   -a-b-c-|', values);
        const expected = ' ---x---(y|)';

        expectObservable(e1.pipe(batchChunks({ maxCount: 2, maxWait: 100, scheduler: spy.scheduler }))).toBe(expected, {
          x: [a, b],
          y: [c],
        });
      });
      expect(spy.counts).toEqual({ scheduled: 2, ran: 0, cancelled: 2 });
    });

    it('should not break unsubscription chains when unsubscribed explicitly', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-c-d-e-|', values);
        const e1subs = '   ^-----!';
        const expected = ' ---x--';
        const unsub = '    ------!';

        const result = e1.pipe(
          mergeMap((x) => of(x)),
          batchChunks({ maxCount: 2 }),
          mergeMap((x) => of(x)),
        );

        expectObservable(result, unsub).toBe(expected, { x: [a, b] });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should unsubscribe from the source when a downstream take completes', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-c-d-e-|', values);
        const e1subs = '   ^------!';
        const expected = ' ---x---(y|)';

        expectObservable(e1.pipe(batchChunks({ maxCount: 2 }), take(2))).toBe(expected, { x: [a, b], y: [c, d] });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });
  });

  describe('standard behaviour', () => {
    it('should complete without emitting on an empty source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  |');
        const e1subs = '                 (^!)';
        const expected = '               |';

        expectObservable(e1.pipe(batchChunks({ maxWait: 10 }))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not emit on a never source, not even an empty batch', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  -');
        const e1subs = '                 ^';
        const expected = '               -';

        expectObservable(e1.pipe(batchChunks({ maxWait: 10 }))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on the error of a source that fails at once', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<string>>('  #');
        const e1subs = '                 (^!)';
        const expected = '               #';

        expectObservable(e1.pipe(batchChunks({ maxCount: 2 }))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should handle a synchronous source', () => {
      testScheduler.run(({ expectObservable }) => {
        const expected = '(xy|)';

        expectObservable(of(a, b, c).pipe(batchChunks({ maxCount: 2 }))).toBe(expected, { x: [a, b], y: [c] });
      });
    });

    it('should keep chunks and batches in order when the consumer makes the source emit while it handles a batch', () => {
      const source = new Subject<Chunk<Uint8Array>>();
      const big = binary(1, 10);
      const fedBack = finalChunk(2, new Uint8Array(1));
      const batches: number[][] = [];
      source.pipe(batchChunks({ maxBytes: 8 })).subscribe((batch) => {
        batches.push(batch.map((x) => x.index));
        if (batch[0]?.index === 0) source.next(fedBack);
      });

      // `big` closes the batch of chunk 0 and, being past maxBytes, its own:
      // the chunk fed back while the first is delivered comes after both.
      source.next(binary(0, 6));
      source.next(big);

      expect(batches).toEqual([[0], [1], [2]]);
    });

    it('should put a chunk fed back by the consumer in the next batch', () => {
      const source = new Subject<Chunk<string>>();
      const batches: string[][] = [];
      source.pipe(batchChunks({ maxCount: 2 })).subscribe((batch) => {
        batches.push(batch.map((x) => x.data));
        if (batch[0]?.data === 'a') source.next(chunk(2, 'c'));
      });

      source.next(chunk(0, 'a'));
      source.next(chunk(1, 'b'));
      source.next(chunk(3, 'd'));
      source.complete();

      expect(batches).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
    });

    it('should deliver in a loop, not by recursion, when the consumer feeds a chunk back on every batch', () => {
      const source = new Subject<Chunk<number>>();
      const rounds = 100_000;
      let delivered = 0;
      source.pipe(batchChunks({ maxCount: 1 })).subscribe((batch) => {
        delivered++;
        const index = batch[0]?.index ?? rounds;
        if (index < rounds) source.next(chunk(index + 1, index + 1));
      });

      source.next(chunk(0, 0));

      expect(delivered).toBe(rounds + 1);
    });

    it('should keep its state per subscription', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('   -a-b-c|', values);
        const batched = e1.pipe(batchChunks({ maxCount: 2 }));
        const first = '     ---x--(y|)';
        const second = '    -----------x--(y|)';
        const subscribe2 = '--------^';

        expectObservable(batched).toBe(first, { x: [a, b], y: [c] });
        expectObservable(batched, subscribe2).toBe(second, { x: [a, b], y: [c] });
      });
    });
  });

  describe('options', () => {
    it('should throw a TypeError when no limit is given', () => {
      expect(() => batchChunks({})).toThrow(
        new TypeError('batchChunks: give at least one of maxCount, maxWait, maxBytes (toChunkArray() gathers a whole stream)'),
      );
    });

    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('should throw a TypeError for maxCount %s', (maxCount) => {
      expect(() => batchChunks({ maxCount })).toThrow(/maxCount must be an integer >= 1/);
    });

    it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('should throw a TypeError for maxWait %s', (maxWait) => {
      expect(() => batchChunks({ maxWait })).toThrow(/maxWait must be a finite number >= 0/);
    });

    it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('should throw a TypeError for maxBytes %s', (maxBytes) => {
      expect(() => batchChunks({ maxBytes })).toThrow(/maxBytes must be a finite number > 0/);
    });
  });
});
