/**
 * Workload 2: 1 MiB binary chunks (Python `bytes`), where flow-control
 * windows, copies and the transport dominate. Each path checks every
 * chunk's length and reads its first and last byte. The pool's worker on a
 * Unix socket (the default) and on a loopback port, against a plain grpcio
 * server over TCP (and, for comparison, over a Unix socket).
 */
import type { SnakepitPool } from 'snakepit-rx';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { RawClient } from '../support/raw-client.js';
import { drain } from '../support/drain.js';
import { formatRatio } from '../support/report.js';
import { median } from '../support/stats.js';
import { measureRates, nowMs } from '../support/timing.js';

const CHUNK_BYTES = 1024 * 1024;

class ByteTally {
  private chunks = 0;
  private bytes = 0;
  private edges = 0;

  add(data: Uint8Array): void {
    this.chunks++;
    this.bytes += data.byteLength;
    this.edges += data[0]! + data[data.byteLength - 1]!;
  }

  check(expected: number, path: string): void {
    // workload_data.binary_block: bytes(range(256)) repeated, so 0 first and 255 last.
    if (this.chunks !== expected || this.bytes !== expected * CHUNK_BYTES || this.edges !== expected * 255) {
      throw new Error(`${path}: got ${this.chunks} chunks, ${this.bytes} bytes; expected ${expected} of ${CHUNK_BYTES}`);
    }
  }
}

type PathRun = (count: number) => Promise<number>;

function rawPath(client: RawClient, name: string): PathRun {
  return async (count) => {
    const tally = new ByteTally();
    const started = nowMs();
    await client.stream('binary', { count, size: CHUNK_BYTES }, (chunk) => tally.add(chunk.data));
    const elapsed = nowMs() - started;
    tally.check(count, name);
    return elapsed;
  };
}

function poolPath(pool: SnakepitPool, name: string): PathRun {
  return async (count) => {
    const tally = new ByteTally();
    const started = nowMs();
    await drain(pool.stream<Uint8Array | null>('binary', { count, size: CHUNK_BYTES }), (data) => tally.add(data));
    const elapsed = nowMs() - started;
    tally.check(count, name);
    return elapsed;
  };
}

const TUNED = '(a) grpcio → grpc-js, tuned, TCP';
const POOL_UNIX = '(c) pool.stream(), Unix socket';
const POOL_TCP = '(c) pool.stream(), TCP';
/** Issue #12's target for the pool's default transport, and the first round's, met over TCP. */
const TARGETS: Record<string, number> = { [POOL_UNIX]: 1.5, [POOL_TCP]: 0.9 };

export const binaryChunks: Workload = {
  name: 'binary-chunks',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { pool, config } = context;
    const plain = new RawClient(context.baselineAddress, 'default');
    const tuned = new RawClient(context.baselineAddress, 'tuned');
    const tunedUnix = new RawClient(context.baselineUnixAddress, 'tuned');
    try {
      await Promise.all([plain.connect(), tuned.connect(), tunedUnix.connect()]);
      const args = (count: number) => ({ count, size: CHUNK_BYTES });
      const paths: Record<string, PathRun> = {
        '(a) grpcio → grpc-js, default, TCP': rawPath(plain, 'baseline default'),
        [TUNED]: rawPath(tuned, 'baseline tuned'),
        '(a) grpcio → grpc-js, tuned, Unix socket': rawPath(tunedUnix, 'baseline tuned, Unix'),
        [POOL_UNIX]: poolPath(pool, 'stream'),
        [POOL_TCP]: poolPath(context.tcpPool, 'stream, TCP'),
        '(d) pool.executeStream()': async (count) => {
          const tally = new ByteTally();
          const started = nowMs();
          await pool.executeStream<Uint8Array | null>('binary', args(count), (chunk) => {
            if (chunk.data !== null) tally.add(chunk.data);
          });
          const elapsed = nowMs() - started;
          tally.check(count, 'executeStream');
          return elapsed;
        },
        '(e) pool.iterate()': async (count) => {
          const tally = new ByteTally();
          const started = nowMs();
          for await (const chunk of pool.iterate<Uint8Array | null>('binary', args(count))) {
            if (chunk.data !== null) tally.add(chunk.data);
          }
          const elapsed = nowMs() - started;
          tally.check(count, 'iterate');
          return elapsed;
        },
      };

      const count = config.binaryChunks;
      // A full-size warm-up: the first large transfers on a connection run far below steady state.
      const warmup = count;
      const rates = await measureRates(paths, {
        name: 'binary chunks',
        warmup: 1,
        runs: config.runs,
        progress: context.progress,
        size: (_, turn) => (turn.warmup ? warmup : count),
        units: (chunks) => (chunks * CHUNK_BYTES) / 1e6,
      });

      const medians = Object.fromEntries(Object.entries(rates).map(([path, samples]) => [path, median(samples)]));
      const tunedBaseline = medians[TUNED]!;
      const rows: Row[] = Object.entries(medians).map(([path, value]) => {
        const row: Row = { workload: '2 1 MiB chunks', path, unit: 'MB/s', median: value };
        if (path === TUNED) return row;
        const ratio = formatRatio(value / tunedBaseline, 'a tuned TCP');
        const target = TARGETS[path];
        if (target === undefined) return { ...row, ratio };
        return { ...row, ratio, target: `≥${target}× a tuned TCP`, pass: value >= target * tunedBaseline };
      });
      return {
        name: 'binary-chunks',
        rows,
        raw: { chunkBytes: CHUNK_BYTES, count, warmup, runs: config.runs, megabytesPerSecond: rates, medians },
      };
    } finally {
      plain.close();
      tuned.close();
      tunedUnix.close();
    }
  },
};
