/**
 * Options renamed before 1.0 keep their old name as a deprecated alias that
 * still works: one spec per alias, to delete with the alias.
 */
import type { Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { resolvePoolOptions } from '../lib/pool/pool-options.js';
import { batchChunks, reduceProgress, type Chunk } from 'snakepit-rx/operators';
import { chunk, createTestScheduler } from './operators/chunk-fixtures.js';

describe('deprecated aliases', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  /** What each observable emits, in virtual time, with the frame of each value. */
  function collect<T>(...observables: ((cold: TestScheduler['createColdObservable']) => Observable<T>)[]): [number, T][][] {
    return testScheduler.run(({ cold, flush }) => {
      const emitted = observables.map(() => [] as [number, T][]);
      observables.forEach((make, position) => make(cold).subscribe((value) => emitted[position]?.push([testScheduler.now(), value])));
      flush();
      return emitted;
    });
  }

  it('pool option workerTtlMs is workerTtl', () => {
    expect(resolvePoolOptions({ adapter: 'module.Adapter', workerTtlMs: 1_000 }).workerTtlMs).toBe(1_000);
    expect(resolvePoolOptions({ adapter: 'module.Adapter', workerTtl: 1_000 }).workerTtlMs).toBe(1_000);
    expect(() => resolvePoolOptions({ adapter: 'module.Adapter', workerTtlMs: -1 })).toThrow(/`workerTtlMs` must be a positive number/);
    expect(() => resolvePoolOptions({ adapter: 'module.Adapter', workerTtl: 1_000, workerTtlMs: 1_000 })).toThrow(
      expect.objectContaining({ code: 'invalid_arguments', message: expect.stringContaining('not both') }),
    );
  });

  it('batchChunks option maxWaitMs is maxWait', () => {
    const values = { a: chunk(0, 'a'), b: chunk(1, 'b'), c: chunk(2, 'c') };
    const source = (cold: TestScheduler['createColdObservable']) => cold<Chunk<string>>('-a-b--------c|', values);
    const [alias, renamed, untimed] = collect(
      (cold) => source(cold).pipe(batchChunks({ maxWaitMs: 5 })),
      (cold) => source(cold).pipe(batchChunks({ maxWait: 5 })),
      (cold) => source(cold).pipe(batchChunks({ maxCount: 10 })),
    );
    expect(alias).toEqual(renamed);
    expect(alias).not.toEqual(untimed);
    expect(() => batchChunks({ maxWait: 5, maxWaitMs: 5 })).toThrow(
      new TypeError('batchChunks: give maxWait or its deprecated alias maxWaitMs, not both'),
    );
  });

  it('reduceProgress option halfLifeMs is halfLife', () => {
    const values = { a: chunk(0, { step: 1, total: 9 }), b: chunk(1, { step: 2, total: 9 }), c: chunk(2, { step: 6, total: 9 }) };
    const source = (cold: TestScheduler['createColdObservable']) =>
      cold<Chunk<{ step: number; total: number }>>('10ms a 9ms b 1ms c|', values);
    const [alias, renamed, byDefault] = collect(
      (cold) => source(cold).pipe(reduceProgress({ halfLifeMs: 4 })),
      (cold) => source(cold).pipe(reduceProgress({ halfLife: 4 })),
      (cold) => source(cold).pipe(reduceProgress()),
    );
    expect(alias).toEqual(renamed);
    expect(alias).not.toEqual(byDefault);
    expect(() => reduceProgress({ halfLife: 4, halfLifeMs: 4 })).toThrow(TypeError);
  });
});
