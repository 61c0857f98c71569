/**
 * Workload 1: many small JSON chunks, where the cost per message dominates.
 * Every path parses each chunk's JSON into an object and reads from it.
 * Baselines: plain grpcio (sync and asyncio) with one message per chunk, the
 * sync server batching 256 records per message as a hand-tuned user would,
 * and python-shell on a buffered stdout (its users' default) and flushing
 * each line.
 */
import { startBaselineServer } from '../support/baseline-server.js';
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

/** The paths' names, which the ratios refer to by their letters. */
const A = '(a) grpcio → grpc-js, one message per chunk';
const A_AIO = '(a-aio) grpcio asyncio → grpc-js, one message per chunk';
const A_256 = '(a-256) grpcio → grpc-js, 256 chunks per message';
const B = '(b) python-shell json, buffered stdout';
const B_FLUSH = '(b-flush) python-shell json, flushing each line';
const C = '(c) pool.stream()';

/** Paths this much slower than the others move fewer chunks a run, so that each run takes about as long. */
const ONE_PER_MESSAGE_SHARE = 0.1;

/** Issue #12's targets for (c), and the first round's, which still hold. */
const TARGETS = {
  second: { rate: 1_000_000, overPythonShell: 3, overBatched: 2.5 },
  first: { rate: 150_000, overBaseline: 10, overPythonShell: 0.6 },
};

/** Times one run of a path that hands each record to `tally`, and checks that every record arrived once. */
async function timed(count: number, path: string, run: (tally: Tally) => Promise<void>): Promise<number> {
  const tally = new Tally();
  const started = nowMs();
  await run(tally);
  const elapsed = nowMs() - started;
  tally.check(count, path);
  return elapsed;
}

export const smallChunks: Workload = {
  name: 'small-chunks',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const raw = new RawClient(context.baselineAddress, 'default');
    const aioServer = await startBaselineServer({ script: 'grpc_aio_server.py' });
    const aio = new RawClient(aioServer.address, 'default');
    const buffered = await NdjsonProducer.start();
    const flushing = await NdjsonProducer.start({ flushEachLine: true });
    try {
      await Promise.all([raw.connect(), aio.connect()]);
      const paths: Record<string, PathRun> = {
        [A]: (count) =>
          timed(count, A, (tally) => raw.stream('small', { count }, (chunk) => tally.add(parseJson(chunk.data) as SmallRecord))),
        [A_AIO]: (count) =>
          timed(count, A_AIO, (tally) => aio.stream('small', { count }, (chunk) => tally.add(parseJson(chunk.data) as SmallRecord))),
        [A_256]: (count) =>
          timed(count, A_256, (tally) =>
            raw.streamBatches('small', { count, per_message: 256 }, (batch) => {
              for (const chunk of batch.chunks) tally.add(parseJson(chunk.data) as SmallRecord);
            }),
          ),
        [B]: async (count) => {
          const tally = new Tally();
          const elapsed = await buffered.run(count, (record) => tally.add(record as SmallRecord));
          tally.check(count, B);
          return elapsed;
        },
        [B_FLUSH]: async (count) => {
          const tally = new Tally();
          const elapsed = await flushing.run(count, (record) => tally.add(record as SmallRecord));
          tally.check(count, B_FLUSH);
          return elapsed;
        },
        [C]: (count) =>
          timed(count, C, (tally) => drain(pool.stream<SmallRecord | null>('small', { count }), (record) => tally.add(record))),
        '(d) pool.executeStream()': (count) =>
          timed(count, 'executeStream', (tally) =>
            pool.executeStream<SmallRecord | null>('small', { count }, (chunk) => {
              if (chunk.data !== null) tally.add(chunk.data);
            }),
          ),
        '(e) pool.iterate()': (count) =>
          timed(count, 'iterate', async (tally) => {
            for await (const chunk of pool.iterate<SmallRecord | null>('small', { count })) {
              if (chunk.data !== null) tally.add(chunk.data);
            }
          }),
      };

      const count = config.smallChunks;
      const countOf = (path: string) => (path === A || path === A_AIO ? Math.round(count * ONE_PER_MESSAGE_SHARE) : count);
      const rates = await measureRates(paths, {
        name: 'small chunks',
        warmup: 1,
        runs: config.runs,
        progress: context.progress,
        size: (path, turn) => (turn.warmup ? Math.max(2000, Math.floor(countOf(path) / 5)) : countOf(path)),
      });

      const medians = Object.fromEntries(Object.entries(rates).map(([path, samples]) => [path, median(samples)]));
      const [a, a256, b] = [medians[A]!, medians[A_256]!, medians[B]!];
      const workload = '1 small chunks';
      const rows: Row[] = Object.entries(medians).map(([path, value]) => {
        const row: Row = { workload, path, unit: 'chunks/s', median: value };
        if (path === A) return row;
        if (path.startsWith('(a') || path.startsWith('(b')) return { ...row, ratio: formatRatio(value / a, 'a') };
        const ratio = [formatRatio(value / a, 'a'), formatRatio(value / a256, 'a-256'), formatRatio(value / b, 'b')].join(', ');
        if (path !== C) return { ...row, ratio };
        const { second } = TARGETS;
        return {
          ...row,
          ratio,
          target: `≥${second.rate.toLocaleString('en-US')}/s, ≥${second.overPythonShell}× b, ≥${second.overBatched}× a-256`,
          pass: value >= second.rate && value >= second.overPythonShell * b && value >= second.overBatched * a256,
        };
      });
      const { first } = TARGETS;
      rows.push({
        workload,
        path: `${C}, the first round's targets`,
        unit: 'chunks/s',
        median: medians[C]!,
        target: `≥${first.rate.toLocaleString('en-US')}/s, ≥${first.overBaseline}× a, ≥${first.overPythonShell}× b`,
        pass: medians[C]! >= first.rate && medians[C]! >= first.overBaseline * a && medians[C]! >= first.overPythonShell * b,
      });
      return {
        name: 'small-chunks',
        rows,
        raw: {
          count,
          countOf: Object.fromEntries(Object.keys(paths).map((path) => [path, countOf(path)])),
          runs: config.runs,
          chunksPerSecond: rates,
          medians,
          pythonShellStartMs: { buffered: buffered.readyMs, flushing: flushing.readyMs },
        },
      };
    } finally {
      raw.close();
      aio.close();
      await Promise.all([buffered.close(), flushing.close(), aioServer.stop()]);
    }
  },
};
