import { RecordBatch, Table } from 'apache-arrow';
import { filter, map, toArray, type OperatorFunction } from 'rxjs';
import { isSyntheticFinal, type Chunk } from '../chunk.js';
import { takeUntilFinal } from '../operators/take-until-final.js';

/** The record batches a chunk's data holds: a RecordBatch itself, or a Table's. */
function batchesOf(chunk: Chunk<RecordBatch | Table | null>): readonly RecordBatch[] {
  const data: unknown = chunk.data;
  if (data instanceof RecordBatch) return [data];
  if (data instanceof Table) return data.batches;
  const kind = data === null ? 'null' : `a value of type ${typeof data === 'object' ? data.constructor.name : typeof data}`;
  throw new TypeError(`toArrowTable: chunk ${chunk.index} holds ${kind}, not an Arrow RecordBatch or Table`);
}

/**
 * Gathers a stream of Arrow record batches (a tool yielding pyarrow
 * `RecordBatch`es, or pandas or polars DataFrames, which arrive as
 * `Table`s) into one apache-arrow `Table`, emitted when the final chunk
 * arrives (or when the source completes, if it comes first). No column is
 * copied: the table holds the batches as they arrived.
 *
 * ```
 * source:  --a----b----Z--
 *          toArrowTable()
 * output:  ------------(t|)      t = a Table of a's, b's and Z's batches
 * ```
 *
 * A synthetic final chunk (no data) adds nothing. A chunk that holds
 * anything but a `RecordBatch` or `Table` fails the stream with a
 * `TypeError` naming its index, as batches of another schema do (apache-arrow
 * refuses to put them in one table). An empty source gives an empty table.
 *
 * @example
 * ```ts
 * import { toArrowTable } from 'snakepit-rx/arrow';
 *
 * const table = await firstValueFrom(pool.stream<RecordBatch>('frames', { rows: 1e6 }).pipe(toArrowTable()));
 * console.log(table.numRows, table.getChild('price')?.get(0));
 * ```
 */
export function toArrowTable(): OperatorFunction<Chunk<RecordBatch | Table | null>, Table> {
  return (source) =>
    source.pipe(
      takeUntilFinal(),
      filter((chunk) => !isSyntheticFinal(chunk)),
      map(batchesOf),
      toArray(),
      map((groups) => tableOf(groups.flat())),
    );
}

/**
 * The batches as one table, made by the copy of apache-arrow the batches
 * come from: a loader that compiles ES modules required from CommonJS (tsx)
 * gives the pool a copy other than the one this module imports, whose Table
 * refuses the other copy's batches.
 */
function tableOf(batches: readonly RecordBatch[]): Table {
  const [first, ...rest] = batches;
  return first === undefined ? new Table() : first.concat(...rest);
}
