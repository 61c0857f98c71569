/**
 * What the workloads on the guide's `generate_dataset` share (3 `dataset`,
 * 17 `dataframes`): its JSON path as written, each path's check of the rows
 * it received, and the rates of paths that move different numbers of rows.
 */
import type { BenchContext } from './context.js';
import { drain } from './drain.js';
import { measureRates, nowMs } from './timing.js';

/** The columns of every dataset chunk. */
export const COLUMNS = 10;

/** Streams `rows` rows and resolves with the milliseconds it took. */
export type PathRun = (rows: number) => Promise<number>;

interface JsonBatch {
  readonly rows: number;
  readonly data: number[][];
}

/** Fails the run unless a path received every row, and read finite values from them. */
export function checkRows(path: string, rows: number, expected: number, finite: boolean): void {
  if (rows !== expected || !finite) throw new Error(`${path}: got ${rows} rows, expected ${expected}`);
}

/** The guide's `generate_dataset` as written: `.tolist()` JSON chunks of `datasetChunkSize` rows. */
export function jsonDatasetPath({ pool, config }: BenchContext): PathRun {
  return async (rows) => {
    let received = 0;
    let sum = 0;
    const started = nowMs();
    await drain(pool.stream<JsonBatch | null>('generate_dataset', { rows, chunk_size: config.datasetChunkSize }), (batch) => {
      received += batch.data.length;
      sum += batch.data[0]![COLUMNS - 1]!;
    });
    const elapsed = nowMs() - started;
    checkRows('json', received, rows, Number.isFinite(sum));
    return elapsed;
  };
}

/**
 * Rows per second of each path, each moving `rowsOf[path]` rows: faster paths move more,
 * so that every rate is a steady-state figure rather than mostly start-up.
 */
export function measureRowRates(
  context: BenchContext,
  name: string,
  paths: Readonly<Record<string, PathRun>>,
  rowsOf: Readonly<Record<string, number>>,
): Promise<Record<string, number[]>> {
  const chunkSize = context.config.datasetChunkSize;
  return measureRates(paths, {
    name,
    warmup: 1,
    runs: context.config.runs,
    progress: context.progress,
    size: (path, turn) => (turn.warmup ? Math.max(chunkSize * 5, Math.floor(rowsOf[path]! / 5)) : rowsOf[path]!),
  });
}
