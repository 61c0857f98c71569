import { map, mergeMap, of, Subject, toArray } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { reduceProgress, type Chunk, type Progress } from 'snakepit-rx/operators';
import { chunk, createTestScheduler, finalChunk, progressState, syntheticFinal } from './chunk-fixtures.js';

type Step = { step: number; total: number };
type Training =
  { type: 'progress'; epoch: number; loss: number; accuracy: number } | { type: 'complete'; final_loss: number; final_accuracy: number };
type Epoch = { epoch: number; loss: number };

/** The fields that say where a stream stands, for specs about reading payloads. */
function position<T>({ current, total, fraction, done, last }: Progress<T>) {
  return { current, total, fraction, done, last };
}

describe('reduceProgress', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  describe('rate and ETA under virtual time', () => {
    it('should compute elapsed time, rate and ETA from the scheduler clock', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const values = {
          a: chunk<Step>(0, { step: 1, total: 4 }),
          b: chunk<Step>(1, { step: 2, total: 4 }),
          c: chunk<Step>(2, { step: 3, total: 4 }),
          d: finalChunk<Step>(3, { step: 4, total: 4 }),
        };
        const e1 = cold('  8ms a 7ms b 7ms c 7ms d|', values);
        const e1subs = '   ^ 32ms !';
        const expected = ' 8ms p 7ms q 7ms r 7ms s|';
        const shared = { total: 4, ratePerSecond: 125 };

        expectObservable(e1.pipe(reduceProgress({ halfLife: 8 }))).toBe(expected, {
          p: progressState({ ...shared, current: 1, fraction: 0.25, percent: 25, elapsedMs: 8, etaMs: 24, last: values.a.data }),
          q: progressState({ ...shared, current: 2, fraction: 0.5, percent: 50, elapsedMs: 16, etaMs: 16, last: values.b.data }),
          r: progressState({ ...shared, current: 3, fraction: 0.75, percent: 75, elapsedMs: 24, etaMs: 8, last: values.c.data }),
          s: progressState({ ...shared, current: 4, fraction: 1, percent: 100, elapsedMs: 32, etaMs: 0, done: true, last: values.d.data }),
        });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should smooth a change of pace with a time-weighted moving average', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  8ms a 15ms b', { a: chunk<Step>(0, { step: 1, total: 4 }), b: chunk<Step>(1, { step: 2, total: 4 }) });
        const expected = ' 8ms p 15ms q';

        // At b the pace has halved over two half-lives: the new pace weighs 1 - 2^-2 = 3/4.
        // steps/ms: 1/8 + 3/4 × (1/16 - 1/8) = 5/64; fraction/ms: 1/32 + 3/4 × (1/64 - 1/32) = 5/256.
        expectObservable(
          e1.pipe(
            reduceProgress({ halfLife: 8 }),
            map((p) => [p.ratePerSecond, p.etaMs]),
          ),
        ).toBe(expected, { p: [125, 24], q: [(5 / 64) * 1000, 0.5 / (5 / 256)] });
      });
    });

    it('should use the latest pace alone when halfLife is 0', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  8ms a 15ms b', { a: chunk<Step>(0, { step: 1, total: 4 }), b: chunk<Step>(1, { step: 2, total: 4 }) });
        const expected = ' 8ms p 15ms q';

        expectObservable(
          e1.pipe(
            reduceProgress({ halfLife: 0 }),
            map((p) => [p.ratePerSecond, p.etaMs]),
          ),
        ).toBe(expected, { p: [125, 24], q: [62.5, 32] });
      });
    });

    it('should halve the weight of past pace every 5 seconds by default', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  5s a 4999ms b', { a: chunk<Step>(0, { step: 1, total: 8 }), b: chunk<Step>(1, { step: 3, total: 8 }) });
        const expected = ' 5s p 4999ms q';

        // 0.2 steps/s, then 0.4 steps/s weighted 1/2.
        expectObservable(
          e1.pipe(
            reduceProgress(),
            map((p) => p.ratePerSecond),
          ),
        ).toBe(expected, {
          p: expect.closeTo(0.2, 12),
          q: expect.closeTo(0.3, 12),
        });
      });
    });

    it('should carry the progress of chunks that arrive at the same instant into the next interval', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  8ms (ab) 4ms c', {
          a: chunk<Step>(0, { step: 1, total: 4 }),
          b: chunk<Step>(1, { step: 2, total: 4 }),
          c: chunk<Step>(2, { step: 3, total: 4 }),
        });
        const expected = ' 8ms (pq) 4ms r';

        // b adds no interval of its own; from a to c, 2 steps in 8 ms (1/4 per ms) weigh 1/2.
        expectObservable(
          e1.pipe(
            reduceProgress({ halfLife: 8 }),
            map((p) => [p.ratePerSecond, p.etaMs]),
          ),
        ).toBe(expected, { p: [125, 24], q: [125, 16], r: [187.5, 0.25 / (3 / 64)] });
      });
    });

    it('should leave rate and ETA unknown, not infinite, when no time has passed', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  (ab|)', { a: chunk<Step>(0, { step: 1, total: 4 }), b: chunk<Step>(1, { step: 2, total: 4 }) });
        const expected = ' (pq|)';

        expectObservable(e1.pipe(reduceProgress())).toBe(expected, {
          p: progressState({ current: 1, total: 4, fraction: 0.25, percent: 25, last: { step: 1, total: 4 } }),
          q: progressState({ current: 2, total: 4, fraction: 0.5, percent: 50, last: { step: 2, total: 4 } }),
        });
      });
    });

    it('should leave the ETA unknown while no progress is made', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  5ms a 4ms b', { a: chunk<Step>(0, { step: 0, total: 4 }), b: chunk<Step>(1, { step: 0, total: 4 }) });
        const expected = ' 5ms p 4ms q';

        expectObservable(
          e1.pipe(
            reduceProgress(),
            map((p) => [p.ratePerSecond, p.etaMs]),
          ),
        ).toBe(expected, {
          p: [0, undefined],
          q: [0, undefined],
        });
      });
    });
  });

  describe('reading payloads', () => {
    it('should read { type: "progress", epoch } with the total from options, and { type: "complete" } as all done', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = {
          a: chunk<Training>(0, { type: 'progress', epoch: 1, loss: 1, accuracy: 0.5 }),
          b: chunk<Training>(1, { type: 'progress', epoch: 2, loss: 0.5, accuracy: 0.55 }),
          c: chunk<Training>(2, { type: 'complete', final_loss: 0.5, final_accuracy: 0.55 }),
          S: syntheticFinal<Training>(3),
        };
        const e1 = cold('  -a-b-c-S|', values);
        const expected = ' -p-q-r-s|';

        expectObservable(e1.pipe(reduceProgress({ total: 2 }), map(position))).toBe(expected, {
          p: { current: 1, total: 2, fraction: 0.5, done: false, last: values.a.data },
          q: { current: 2, total: 2, fraction: 1, done: false, last: values.b.data },
          r: { current: 2, total: 2, fraction: 1, done: false, last: values.c.data },
          s: { current: 2, total: 2, fraction: 1, done: true, last: values.c.data },
        });
      });
    });

    it('should read { epoch, epochs } and prefer the total of the payload to options.total', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { a: chunk(0, { epoch: 1, epochs: 4, loss: 0.8 }), b: chunk(1, { epoch: 2, epochs: 4, loss: 0.64 }) };
        const e1 = cold('  -a-b-|', values);
        const expected = ' -p-q-|';

        expectObservable(e1.pipe(reduceProgress({ total: 100 }), map(position))).toBe(expected, {
          p: { current: 1, total: 4, fraction: 0.25, done: false, last: values.a.data },
          q: { current: 2, total: 4, fraction: 0.5, done: false, last: values.b.data },
        });
      });
    });

    it('should keep the last total known when a payload stops carrying one', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = {
          a: chunk<{ step: number; total?: number }>(0, { step: 1, total: 4 }),
          b: chunk<{ step: number; total?: number }>(1, { step: 2 }),
        };
        const e1 = cold('  -a-b-|', values);
        const expected = ' -p-q-|';

        expectObservable(e1.pipe(reduceProgress(), map(position))).toBe(expected, {
          p: { current: 1, total: 4, fraction: 0.25, done: false, last: values.a.data },
          q: { current: 2, total: 4, fraction: 0.5, done: false, last: values.b.data },
        });
      });
    });

    it('should read { progress } as a percentage and count chunks as steps', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { a: chunk(0, { progress: 10 }), b: chunk(1, { progress: 35 }) };
        const e1 = cold('  -a-b-|', values);
        const expected = ' -p-q-|';

        expectObservable(
          e1.pipe(
            reduceProgress(),
            map((p) => [p.current, p.total, p.fraction, p.percent]),
          ),
        ).toBe(expected, { p: [1, undefined, 0.1, 10], q: [2, undefined, 0.35, 35] });
      });
    });

    it('should place { progress } on options.total when it is given', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  -a-b-|', { a: chunk(0, { progress: 25 }), b: chunk(1, { progress: 75 }) });
        const expected = ' -p-q-|';

        expectObservable(
          e1.pipe(
            reduceProgress({ total: 8 }),
            map((p) => [p.current, p.total, p.fraction]),
          ),
        ).toBe(expected, { p: [2, 8, 0.25], q: [6, 8, 0.75] });
      });
    });

    it('should read { rows, total } as a running count of rows, out of options.total', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = {
          a: chunk(0, { rows: 1000, total: 1000, data: [[0.5]] }),
          b: chunk(1, { rows: 1000, total: 2000, data: [[0.25]] }),
          c: finalChunk(2, { rows: 500, total: 2500, data: [[0.125]] }),
        };
        const e1 = cold('  -a-b-c|', values);
        const expected = ' -p-q-r|';

        expectObservable(e1.pipe(reduceProgress({ total: 2500 }), map(position))).toBe(expected, {
          p: { current: 1000, total: 2500, fraction: 0.4, done: false, last: values.a.data },
          q: { current: 2000, total: 2500, fraction: 0.8, done: false, last: values.b.data },
          r: { current: 2500, total: 2500, fraction: 1, done: true, last: values.c.data },
        });
      });
    });

    it('should count each payload it cannot read as one step, without throwing', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const values: Record<string, Chunk<unknown>> = {
          a: chunk(0, 'text'),
          b: chunk(1, 42),
          c: chunk(2, null),
          d: chunk(3, [1, 2, 3]),
          e: chunk(4, new Uint8Array([1, 2])),
          f: chunk(5, { number: 5, is_last: false }),
        };
        const e1 = cold('  -a-b-c-d-e-f-|', values);
        const e1subs = '   ^------------!';
        const expected = ' -1-2-3-4-5-6-|';

        expectObservable(
          e1.pipe(
            reduceProgress({ total: 8 }),
            map((p) => `${p.current}/${p.total}:${p.fraction}`),
          ),
        ).toBe(expected, { 1: '1/8:0.125', 2: '2/8:0.25', 3: '3/8:0.375', 4: '4/8:0.5', 5: '5/8:0.625', 6: '6/8:0.75' });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should leave total and fraction unknown when nothing tells them', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { a: chunk(0, { number: 0, is_last: false }), b: chunk(1, { number: 1, is_last: true }) };
        const e1 = cold('  -a-b-|', values);
        const expected = ' -p-q-|';

        expectObservable(e1.pipe(reduceProgress(), map(position))).toBe(expected, {
          p: { current: 1, total: undefined, fraction: undefined, done: false, last: values.a.data },
          q: { current: 2, total: undefined, fraction: undefined, done: false, last: values.b.data },
        });
      });
    });
  });

  describe('options.select', () => {
    type Custom = { kind: 'work'; done: number; of: number } | { kind: 'note' };

    it('should read payloads with select, counting one step where it returns undefined', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = {
          a: chunk<Custom>(0, { kind: 'work', done: 3, of: 12 }),
          b: chunk<Custom>(1, { kind: 'note' }),
          c: chunk<Custom>(2, { kind: 'work', done: 6, of: 12 }),
        };
        const e1 = cold('  -a-b-c-|', values);
        const expected = ' -p-q-r-|';
        const select = (data: Custom) => (data.kind === 'work' ? { current: data.done, total: data.of } : undefined);

        expectObservable(
          e1.pipe(
            reduceProgress({ select }),
            map((p) => [p.current, p.total, p.fraction]),
          ),
        ).toBe(expected, { p: [3, 12, 0.25], q: [4, 12, 1 / 3], r: [6, 12, 0.5] });
      });
    });

    it('should pass select the chunk, and not call it for a synthetic final chunk', () => {
      const seen: number[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  -a-S|', { a: chunk(0, { fraction: 0.5 }), S: syntheticFinal(1) });
        const expected = ' -p-q|';
        const select = (data: { fraction: number }, received: Chunk<{ fraction: number }>) => {
          seen.push(received.index);
          return { fraction: data.fraction };
        };

        expectObservable(
          e1.pipe(
            reduceProgress({ select }),
            map((p) => [p.current, p.fraction, p.done]),
          ),
        ).toBe(expected, { p: [1, 0.5, false], q: [1, 1, true] });
      });
      expect(seen).toEqual([0]);
    });

    it('should clamp a fraction from select into [0, 1] and ignore a total that is not positive', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  -a-b-|', { a: chunk(0, 1.5), b: chunk(1, -0.5) });
        const expected = ' -p-q-|';
        const select = (fraction: number) => ({ fraction, total: 0 });

        expectObservable(
          e1.pipe(
            reduceProgress({ select }),
            map((p) => [p.total, p.fraction]),
          ),
        ).toBe(expected, {
          p: [undefined, 1],
          q: [undefined, 0],
        });
      });
    });

    it('should send what select throws as an error and unsubscribe from the source', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a-b-c-|', { a: chunk(0, 1), b: chunk(1, 2), c: chunk(2, 3) });
        const e1subs = '   ^--!';
        const expected = ' -p-#';
        const failure = new Error('cannot read 2');
        const select = (n: number) => {
          if (n === 2) throw failure;
          return { current: n };
        };

        expectObservable(
          e1.pipe(
            reduceProgress({ select }),
            map((p) => p.current),
          ),
        ).toBe(expected, { p: 1 }, failure);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });
  });

  describe('the final chunk', () => {
    it('should emit done, fraction 1 and etaMs 0 on a final chunk, counting its payload', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { a: chunk<Step>(0, { step: 1, total: 4 }), Z: finalChunk<Step>(1, { step: 2, total: 4 }) };
        const e1 = cold('  4ms a 3ms Z|', values);
        const expected = ' 4ms p 3ms z|';

        expectObservable(e1.pipe(reduceProgress({ halfLife: 0 }))).toBe(expected, {
          p: progressState({
            current: 1,
            total: 4,
            fraction: 0.25,
            percent: 25,
            elapsedMs: 4,
            ratePerSecond: 250,
            etaMs: 12,
            last: values.a.data,
          }),
          z: progressState({
            current: 2,
            total: 4,
            fraction: 1,
            percent: 100,
            elapsedMs: 8,
            ratePerSecond: 250,
            etaMs: 0,
            done: true,
            last: values.Z.data,
          }),
        });
      });
    });

    it('should emit done on a synthetic final chunk without counting a step, keeping the last payload', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { a: chunk<Epoch>(0, { epoch: 1, loss: 0.5 }), S: syntheticFinal<Epoch>(1) };
        const e1 = cold('  4ms a 3ms S|', values);
        const expected = ' 4ms p 3ms s|';

        expectObservable(e1.pipe(reduceProgress({ total: 2, halfLife: 0 }))).toBe(expected, {
          p: progressState({
            current: 1,
            total: 2,
            fraction: 0.5,
            percent: 50,
            elapsedMs: 4,
            ratePerSecond: 250,
            etaMs: 4,
            last: values.a.data,
          }),
          s: progressState({
            current: 1,
            total: 2,
            fraction: 1,
            percent: 100,
            elapsedMs: 8,
            ratePerSecond: 250,
            etaMs: 0,
            done: true,
            last: values.a.data,
          }),
        });
      });
    });

    it('should emit a done state for a stream that is only a synthetic final chunk', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  --S|', { S: syntheticFinal(0) });
        const expected = ' --s|';

        expectObservable(e1.pipe(reduceProgress())).toBe(expected, {
          s: progressState({ fraction: 1, percent: 100, elapsedMs: 2, etaMs: 0, done: true }),
        });
      });
    });

    it('should not emit a done state when the source completes without a final chunk', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('  -a-|', { a: chunk<Step>(0, { step: 1, total: 4 }) });
        const expected = ' -p-|';

        expectObservable(
          e1.pipe(
            reduceProgress(),
            map((p) => p.done),
          ),
        ).toBe(expected, { p: false });
      });
    });
  });

  it('should never produce NaN or an infinite number, whatever the payloads', () => {
    const states: Progress[][] = [];
    testScheduler.run(({ cold }) => {
      const hostile: Record<string, Chunk<unknown>> = {
        a: chunk(0, { step: Number.NaN, total: Number.NaN }),
        b: chunk(1, { step: Number.POSITIVE_INFINITY, total: 0 }),
        c: chunk(2, { step: 2, total: -5, progress: Number.NaN }),
        d: chunk(3, { epoch: 1, epochs: Number.POSITIVE_INFINITY }),
        e: chunk(4, { progress: Number.NEGATIVE_INFINITY }),
        f: chunk(5, { rows: 1, total: Number.NaN }),
        g: chunk(6, { step: '3', total: '4' }),
        S: syntheticFinal(7),
      };
      cold('(ab) c 3ms d 1ms (efg) S|', hostile)
        .pipe(reduceProgress(), toArray())
        .subscribe((all) => states.push(all));
    });

    const all = states[0] ?? [];
    expect(all).toHaveLength(8);
    for (const state of all) {
      for (const value of [state.current, state.total, state.fraction, state.percent, state.elapsedMs, state.ratePerSecond, state.etaMs]) {
        if (value !== undefined) expect(Number.isFinite(value), JSON.stringify(state)).toBe(true);
      }
    }
  });

  describe('standard behaviour', () => {
    it('should complete at once on an empty source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<Step>>('  |');
        const e1subs = '               (^!)';
        const expected = '             |';

        expectObservable(e1.pipe(reduceProgress())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not emit on a never source', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Chunk<Step>>('  -');
        const e1subs = '               ^';
        const expected = '             -';

        expectObservable(e1.pipe(reduceProgress())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should pass on an error after the states before it', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('   -a--#', { a: chunk<Step>(0, { step: 1, total: 4 }) }, new Error('worker died'));
        const e1subs = '   ^---!';
        const expected = ' -p--#';

        expectObservable(
          e1.pipe(
            reduceProgress(),
            map((p) => p.current),
          ),
        ).toBe(expected, { p: 1 }, new Error('worker died'));
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should handle a synchronous source', () => {
      testScheduler.run(({ expectObservable }) => {
        const source = of(chunk<Step>(0, { step: 1, total: 2 }), finalChunk<Step>(1, { step: 2, total: 2 }));
        const expected = '(pq|)';

        expectObservable(source.pipe(reduceProgress(), map(position))).toBe(expected, {
          p: { current: 1, total: 2, fraction: 0.5, done: false, last: { step: 1, total: 2 } },
          q: { current: 2, total: 2, fraction: 1, done: true, last: { step: 2, total: 2 } },
        });
      });
    });

    it('should allow unsubscribing early and explicitly', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const values = { a: chunk(0, 'a'), b: chunk(1, 'b'), c: chunk(2, 'c') };
        const e1 = hot('   -a-b---c-|', values);
        const e1subs = '   ^----!';
        const expected = ' -p-q--';
        const unsub = '    -----!';

        expectObservable(
          e1.pipe(
            reduceProgress(),
            map((p) => p.current),
          ),
          unsub,
        ).toBe(expected, { p: 1, q: 2 });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should not break unsubscription chains when unsubscribed explicitly', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const values = { a: chunk(0, 'a'), b: chunk(1, 'b'), c: chunk(2, 'c') };
        const e1 = hot('   -a-b---c-|', values);
        const e1subs = '   ^----!';
        const expected = ' -p-q--';
        const unsub = '    -----!';

        const result = e1.pipe(
          mergeMap((x) => of(x)),
          reduceProgress(),
          mergeMap((p) => of(p.current)),
        );

        expectObservable(result, unsub).toBe(expected, { p: 1, q: 2 });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('should keep its state per subscription', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const e1 = cold('   -a-b|', { a: chunk(0, 'a'), b: chunk(1, 'b') });
        const progress$ = e1.pipe(
          reduceProgress(),
          map((p) => [p.current, p.elapsedMs]),
        );
        const first = '     -p-q|';
        const second = '    ----------p-q|';
        const subscribe2 = '---------^';

        expectObservable(progress$).toBe(first, { p: [1, 1], q: [2, 3] });
        expectObservable(progress$, subscribe2).toBe(second, { p: [1, 1], q: [2, 3] });
      });
    });

    it('should count a chunk that the consumer makes the source emit while it handles a state', () => {
      const source = new Subject<Chunk<string>>();
      const seen: number[] = [];
      source.pipe(reduceProgress()).subscribe((p) => {
        seen.push(p.current);
        if (p.current === 1) source.next(chunk(1, 'fed back'));
      });

      source.next(chunk(0, 'first'));
      source.next(chunk(2, 'last'));

      expect(seen).toEqual([1, 2, 3]);
    });
  });

  describe('options', () => {
    it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('should throw a TypeError for total %s', (total) => {
      expect(() => reduceProgress({ total })).toThrow(TypeError);
    });

    it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('should throw a TypeError for halfLife %s', (halfLife) => {
      expect(() => reduceProgress({ halfLife })).toThrow(TypeError);
    });
  });
});
