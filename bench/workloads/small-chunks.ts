/**
 * Workload 1: many small JSON chunks, where the cost per message dominates.
 * Every path parses each chunk's JSON into an object and reads from it.
 */
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { drain } from '../support/drain.js';
import { NdjsonProducer } from '../support/ndjson-producer.js';
import { parseJson, RawClient } from '../support/raw-client.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { measureRates, nowMs } from '../support/timing.js';

interface SmallRecord {
  readonly seq: number;
  readonly value: number;
  readonly label: string;
}

/** Counts records and sums `seq`, and fails the run unless every record arrived once. */
class Tally {
  private count = 0;
  private seqSum = 0;
  private labelChars = 0;

  add(record: SmallRecord): void {
    this.count++;
    this.seqSum += record.seq;
    this.labelChars += record.label.length;
  }

  check(expected: number, path: string): void {
    const seqSum = (expected * (expected - 1)) / 2;
    if (this.count !== expected || this.seqSum !== seqSum || this.labelChars !== expected * 11) {
      throw new Error(`${path}: got ${this.count} records (seq sum ${this.seqSum}), expected ${expected} (${seqSum})`);
    }
  }
}

type PathRun = (count: number) => Promise<number>;

export const smallChunks: Workload = {
  name: 'small-chunks',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const raw = new RawClient(context.baselineAddress, 'default');
    const producer = await NdjsonProducer.start();
    try {
      await raw.connect();
      const paths: Record<string, PathRun> = {
        '(a) grpcio → grpc-js': async (count) => {
          const tally = new Tally();
          const started = nowMs();
          await raw.stream('small', { count }, (chunk) => tally.add(parseJson(chunk.data) as SmallRecord));
          const elapsed = nowMs() - started;
          tally.check(count, 'baseline');
          return elapsed;
        },
        '(b) python-shell json': async (count) => {
          const tally = new Tally();
          const elapsed = await producer.run(count, (record) => tally.add(record as SmallRecord));
          tally.check(count, 'python-shell');
          return elapsed;
        },
        '(c) pool.stream()': async (count) => {
          const tally = new Tally();
          const started = nowMs();
          await drain(pool.stream<SmallRecord | null>('small', { count }), (record) => tally.add(record));
          const elapsed = nowMs() - started;
          tally.check(count, 'stream');
          return elapsed;
        },
        '(d) pool.executeStream()': async (count) => {
          const tally = new Tally();
          const started = nowMs();
          await pool.executeStream<SmallRecord | null>('small', { count }, (chunk) => {
            if (chunk.data !== null) tally.add(chunk.data);
          });
          const elapsed = nowMs() - started;
          tally.check(count, 'executeStream');
          return elapsed;
        },
        '(e) pool.iterate()': async (count) => {
          const tally = new Tally();
          const started = nowMs();
          for await (const chunk of pool.iterate<SmallRecord | null>('small', { count })) {
            if (chunk.data !== null) tally.add(chunk.data);
          }
          const elapsed = nowMs() - started;
          tally.check(count, 'iterate');
          return elapsed;
        },
      };

      const count = config.smallChunks;
      const warmup = Math.max(2000, Math.floor(count / 5));
      const rates = await measureRates(paths, {
        name: 'small chunks',
        warmup: 1,
        runs: config.runs,
        progress: context.progress,
        size: (_, turn) => (turn.warmup ? warmup : count),
      });

      const medians = Object.fromEntries(Object.entries(rates).map(([path, samples]) => [path, median(samples)]));
      const baseline = medians['(a) grpcio → grpc-js']!;
      const pythonShell = medians['(b) python-shell json']!;
      const rows: Row[] = Object.entries(medians).map(([path, value]) => {
        const row: Row = { workload: '1 small chunks', path, unit: 'chunks/s', median: value };
        if (path.startsWith('(a)')) return row;
        const ratio = path.startsWith('(b)')
          ? formatRatio(value / baseline, 'a')
          : `${formatRatio(value / baseline, 'a')}, ${formatRatio(value / pythonShell, 'b')}`;
        if (!path.startsWith('(c)')) return { ...row, ratio };
        return {
          ...row,
          ratio,
          target: '≥150,000/s, ≥10× a, ≥0.6× b',
          pass: value >= 150_000 && value >= 10 * baseline && value >= 0.6 * pythonShell,
        };
      });
      return {
        name: 'small-chunks',
        rows,
        raw: { count, warmup, runs: config.runs, chunksPerSecond: rates, medians, pythonShellStartMs: producer.readyMs },
      };
    } finally {
      raw.close();
      await producer.close();
    }
  },
};
