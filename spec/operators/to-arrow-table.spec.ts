import { RecordBatch, Table, tableFromArrays } from 'apache-arrow';
import { map } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { toArrowTable } from 'snakepit-rx/arrow';
import { chunk, createTestScheduler, finalChunk, syntheticFinal } from './chunk-fixtures.js';

function batch(values: number[]): RecordBatch {
  return tableFromArrays({ x: Float64Array.from(values) }).batches[0]!;
}

const A = batch([1, 2]);
const B = batch([3]);
const C = batch([4, 5, 6]);
const twoBatches = new Table([B, C]);
const values = {
  a: chunk<RecordBatch | Table | null>(0, A),
  b: chunk<RecordBatch | Table | null>(1, B),
  t: chunk<RecordBatch | Table | null>(1, twoBatches),
  Z: finalChunk<RecordBatch | Table | null>(2, C),
  S: syntheticFinal<RecordBatch | Table | null>(2),
  n: chunk<RecordBatch | Table | null>(1, { rows: 3 } as unknown as RecordBatch),
};

/** A table's column x, and its batches, for comparing tables by value and by identity of their batches. */
function contents(table: Table): { x: number[]; batches: readonly RecordBatch[] } {
  return { x: [...(table.getChild('x') ?? [])] as number[], batches: table.batches };
}

describe('toArrowTable', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should gather every batch up to the final chunk into one table, as its doc diagram shows', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   --a----b----Z--', values);
      const e1subs = '   ^-----------!';
      const expected = ' ------------(x|)';

      expectObservable(e1.pipe(toArrowTable())).toBe(expected, { x: new Table([A, B, C]) });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it("should take a Table's batches, without copying them", () => {
    let table: Table | undefined;
    testScheduler.run(({ hot }) => {
      hot('-a-t-S-', values)
        .pipe(toArrowTable())
        .subscribe((gathered) => (table = gathered));
    });
    expect(contents(table!)).toEqual({ x: [1, 2, 3, 4, 5, 6], batches: [A, B, C] });
    expect(table!.batches[1]).toBe(B);
  });

  it('should skip a synthetic final chunk, and emit when the source completes before a final chunk', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      expectObservable(hot('-a-S-b-', values).pipe(toArrowTable())).toBe('---(x|)', { x: new Table([A]) });
      expectObservable(cold('-a-b-|', values).pipe(toArrowTable())).toBe('-----(x|)', { x: new Table([A, B]) });
    });
  });

  it('should give an empty table for an empty source', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const sizes = cold('|', values).pipe(
        toArrowTable(),
        map((table) => [table.numRows, table.numCols]),
      );
      expectObservable(sizes).toBe('(x|)', { x: [0, 0] });
    });
  });

  it('should fail at a chunk that holds something else, naming its index', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('   -a-n-Z-', values);
      const e1subs = '   ^--!';

      expectObservable(e1.pipe(toArrowTable())).toBe(
        '---#',
        undefined,
        new TypeError('toArrowTable: chunk 1 holds a value of type Object, not an Arrow RecordBatch or Table'),
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should pass an error on, dropping the batches gathered', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-#', values).pipe(toArrowTable())).toBe('---#');
    });
  });

  it('should keep the state of each subscription apart', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const shared = cold('-a-|', values).pipe(toArrowTable());
      expectObservable(shared).toBe('---(x|)', { x: new Table([A]) });
      expectObservable(shared).toBe('---(x|)', { x: new Table([A]) });
    });
  });
});
