/**
 * Workload 17: the guide's `generate_dataset` as written (`.tolist()`, JSON)
 * against the same rows yielded as pandas DataFrames of 10 float columns,
 * which travel as Arrow IPC and arrive as apache-arrow Tables. Both paths
 * read one value of every chunk and count its rows.
 */
import type { Table } from 'apache-arrow';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { checkRows, COLUMNS, jsonDatasetPath, measureRowRates, type PathRun } from '../support/dataset-paths.js';
import { drain } from '../support/drain.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { nowMs } from '../support/timing.js';

export const dataframes: Workload = {
  name: 'dataframes',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const chunkSize = config.datasetChunkSize;
    const framePath =
      (rowsPerChunk: number): PathRun =>
      async (rows) => {
        let received = 0;
        let sum = 0;
        const started = nowMs();
        await drain(pool.stream<Table | null>('generate_dataset_frame', { rows, chunk_size: rowsPerChunk }), (table) => {
          if (table.numCols !== COLUMNS) throw new Error(`arrow: ${table.numCols} columns`);
          received += table.numRows;
          sum += Number(table.getChildAt(COLUMNS - 1)!.get(0));
        });
        const elapsed = nowMs() - started;
        checkRows('arrow', received, rows, Number.isFinite(sum));
        return elapsed;
      };
    const paths: Record<string, PathRun> = {
      '(c) stream, .tolist() JSON': jsonDatasetPath(context),
      '(c) stream, DataFrame (Arrow)': framePath(chunkSize),
      '(c) stream, DataFrame (Arrow), 10× rows per chunk': framePath(chunkSize * 10),
    };
    // The Arrow paths move ten times as many rows, so that every rate is a steady-state figure.
    const rowsOf: Record<string, number> = {
      '(c) stream, .tolist() JSON': config.datasetRows,
      '(c) stream, DataFrame (Arrow)': config.datasetRows * 10,
      '(c) stream, DataFrame (Arrow), 10× rows per chunk': config.datasetRows * 10,
    };
    const rates = await measureRowRates(context, 'dataframes', paths, rowsOf);
    const json = median(rates['(c) stream, .tolist() JSON']!);
    const arrow = median(rates['(c) stream, DataFrame (Arrow)']!);
    const larger = median(rates['(c) stream, DataFrame (Arrow), 10× rows per chunk']!);
    const rows: Row[] = [
      { workload: '17 generate_dataset', path: '(c) stream, .tolist() JSON', unit: 'rows/s', median: json },
      {
        workload: '17 generate_dataset',
        path: '(c) stream, DataFrame (Arrow)',
        unit: 'rows/s',
        median: arrow,
        ratio: formatRatio(arrow / json, 'JSON'),
        target: '≥50× JSON',
        pass: arrow >= 50 * json,
      },
      {
        workload: '17 generate_dataset',
        path: '(c) stream, DataFrame (Arrow), 10× rows per chunk',
        unit: 'rows/s',
        median: larger,
        ratio: formatRatio(larger / json, 'JSON'),
      },
    ];
    return { name: 'dataframes', rows, raw: { rowsPerPath: rowsOf, chunkSize, columns: COLUMNS, runs: config.runs, rowsPerSecond: rates } };
  },
};
