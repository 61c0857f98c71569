/**
 * Workload 16: a training loop's chunk, `{epoch, accuracy, weights}` with the
 * weights a 1 MiB float32 array inside the dict: travelling as an attachment
 * (an NdArray in Node), against the same chunk with `.tolist()` (JSON lists),
 * as such chunks travelled before arrays inside structures did. Both paths
 * read the epoch and one weight of every chunk.
 */
import type { NdArray } from 'snakepit-rx';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { drain } from '../support/drain.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { measureRates, nowMs } from '../support/timing.js';

const WEIGHTS = 1 << 18;

interface TrainingChunk<W> {
  readonly epoch: number;
  readonly accuracy: number;
  readonly weights: W;
}

type PathRun = (count: number) => Promise<number>;

function path<W>(context: BenchContext, asList: boolean, read: (weights: W) => number): PathRun {
  return async (count) => {
    let epochs = 0;
    let sum = 0;
    const started = nowMs();
    await drain(context.pool.stream<TrainingChunk<W> | null>('weights', { count, as_list: asList }), (chunk) => {
      epochs += chunk.epoch;
      sum += read(chunk.weights);
    });
    const elapsed = nowMs() - started;
    if (epochs !== (count * (count - 1)) / 2 || !Number.isFinite(sum)) throw new Error(`weights: got epochs summing to ${epochs}`);
    return elapsed;
  };
}

export const arraysInChunks: Workload = {
  name: 'arrays-in-chunks',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { config } = context;
    const paths: Record<string, PathRun> = {
      '(c) stream, .tolist() JSON': path<number[]>(context, true, (weights) => {
        if (weights.length !== WEIGHTS) throw new Error(`JSON weights: ${weights.length} values`);
        return weights[WEIGHTS - 1]!;
      }),
      '(c) stream, array attachment': path<NdArray>(context, false, (weights) => {
        if (!(weights.data instanceof Float32Array) || weights.data.length !== WEIGHTS) throw new Error('weights: not a float32 NdArray');
        return weights.data[WEIGHTS - 1]!;
      }),
    };
    // Each path runs for a similar time: the attachment path is expected to be 10-100× faster.
    const countOf: Record<string, number> = {
      '(c) stream, .tolist() JSON': Math.max(4, Math.round(config.binaryChunks / 64)),
      '(c) stream, array attachment': config.binaryChunks,
    };
    const rates = await measureRates(paths, {
      name: 'arrays in chunks',
      warmup: 1,
      runs: config.runs,
      progress: context.progress,
      size: (name, turn) => (turn.warmup ? Math.max(2, Math.floor(countOf[name]! / 4)) : countOf[name]!),
    });
    const json = median(rates['(c) stream, .tolist() JSON']!);
    const attached = median(rates['(c) stream, array attachment']!);
    const rows: Row[] = [
      { workload: '16 1 MiB array in a dict', path: '(c) stream, .tolist() JSON', unit: 'chunks/s', median: json },
      {
        workload: '16 1 MiB array in a dict',
        path: '(c) stream, array attachment',
        unit: 'chunks/s',
        median: attached,
        ratio: formatRatio(attached / json, 'JSON'),
        target: '≥10× JSON',
        pass: attached >= 10 * json,
      },
    ];
    return { name: 'arrays-in-chunks', rows, raw: { weights: WEIGHTS, countPerPath: countOf, runs: config.runs, chunksPerSecond: rates } };
  },
};
