/**
 * Workload 3: the guide's `generate_dataset`, as written (`.tolist()`, JSON)
 * and with the float64 array itself as the chunk's data. Both paths read
 * one value of every chunk and count its rows.
 */
import type { NdArray } from 'snakepit-rx';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { checkRows, COLUMNS, jsonDatasetPath, measureRowRates, type PathRun } from '../support/dataset-paths.js';
import { drain } from '../support/drain.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { nowMs } from '../support/timing.js';

export const dataset: Workload = {
  name: 'dataset',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const chunkSize = config.datasetChunkSize;
    const paths: Record<string, PathRun> = {
      '(c) stream, .tolist() JSON': jsonDatasetPath(context),
      '(c) stream, float64 arrays': async (rows) => {
        let received = 0;
        let sum = 0;
        const started = nowMs();
        await drain(pool.stream<NdArray | null>('generate_dataset_array', { rows, chunk_size: chunkSize }), (array) => {
          if (array.dtype !== 'float64' || array.shape[1] !== COLUMNS || !(array.data instanceof Float64Array)) {
            throw new Error(`arrays: unexpected chunk ${array.dtype} ${JSON.stringify(array.shape)}`);
          }
          received += array.shape[0]!;
          sum += array.data[COLUMNS - 1]!;
        });
        const elapsed = nowMs() - started;
        checkRows('arrays', received, rows, Number.isFinite(sum));
        return elapsed;
      },
    };

    // Each path moves enough rows to run for a similar time (the array path is ~20x faster), so
    // that both rates are steady-state figures rather than one of them mostly start-up.
    const rowsOf: Record<string, number> = {
      '(c) stream, .tolist() JSON': config.datasetRows,
      '(c) stream, float64 arrays': config.datasetRows * 10,
    };
    const rates = await measureRowRates(context, 'dataset', paths, rowsOf);
    const json = median(rates['(c) stream, .tolist() JSON']!);
    const arrays = median(rates['(c) stream, float64 arrays']!);
    const result: Row[] = [
      { workload: '3 generate_dataset', path: '(c) stream, .tolist() JSON', unit: 'rows/s', median: json },
      {
        workload: '3 generate_dataset',
        path: '(c) stream, float64 arrays',
        unit: 'rows/s',
        median: arrays,
        ratio: formatRatio(arrays / json, 'JSON'),
        target: '≥20× JSON',
        pass: arrays >= 20 * json,
      },
    ];
    return {
      name: 'dataset',
      rows: result,
      raw: { rowsPerPath: rowsOf, chunkSize, columns: COLUMNS, runs: config.runs, rowsPerSecond: rates },
    };
  },
};
