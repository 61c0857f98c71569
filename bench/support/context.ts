import type { SnakepitPool } from 'snakepit-rx';
import type { ForeignLoad } from './load.js';
import type { RunLoad } from './run-load.js';

export type Mode = 'quick' | 'full';

/** Sizes of every workload; quick mode trades precision for a run of a few minutes. */
export interface ModeConfig {
  /**
   * Measured runs behind every figure (`--runs N` changes it): for
   * throughput, one call of each path a run; for latency, a run is a block of
   * calls. Each run is checked for foreign load (support/run-load.ts).
   */
  readonly runs: number;
  /** How many times a run during which other processes used more than 5 % of the machine is repeated before it is kept and marked (`--repeats N`). */
  readonly repeats: number;
  readonly smallChunks: number;
  readonly binaryChunks: number;
  readonly datasetRows: number;
  readonly datasetChunkSize: number;
  /** Calls of each latency path in all, spread over the runs. */
  readonly latencyIterations: number;
  readonly unaryIterations: number;
  readonly cancelIterations: number;
  readonly memoryChunks: number;
  /** Encodings of one 1 MiB chunk by each encoder. */
  readonly wireEncoderRuns: number;
}

/** Full mode's runs per figure: the fewest a figure of the README's table may rest on. */
export const FULL_RUNS = 7;

export const MODES: Readonly<Record<Mode, ModeConfig>> = {
  quick: {
    runs: 3,
    repeats: 1,
    smallChunks: 30_000,
    binaryChunks: 256,
    datasetRows: 200_000,
    datasetChunkSize: 1000,
    latencyIterations: 300,
    unaryIterations: 300,
    cancelIterations: 21,
    memoryChunks: 128,
    wireEncoderRuns: 200,
  },
  full: {
    runs: FULL_RUNS,
    repeats: 2,
    smallChunks: 100_000,
    binaryChunks: 1024,
    datasetRows: 500_000,
    datasetChunkSize: 1000,
    latencyIterations: 1000,
    unaryIterations: 2000,
    cancelIterations: 56,
    memoryChunks: 1024,
    wireEncoderRuns: 1000,
  },
};

export interface BenchContext {
  readonly mode: Mode;
  readonly config: ModeConfig;
  /** host:port of the running plain grpcio server (bench/baseline/grpc_server.py). */
  readonly baselineAddress: string;
  /** The same server's Unix socket, as grpc-js dials it (`unix:///…`). */
  readonly baselineUnixAddress: string;
  /** A warm one-worker pool on the bench adapter (its worker on a Unix socket, the default), shared by the workloads that do not start their own. */
  readonly pool: SnakepitPool;
  /** The same, its worker on a loopback port (`transport: 'tcp'`): what every pool used before Unix sockets. */
  readonly tcpPool: SnakepitPool;
  readonly progress: (message: string) => void;
}

/** One line of the table. `pass` is absent where there is no target. */
export interface Row {
  readonly workload: string;
  readonly path: string;
  readonly unit: string;
  readonly median: number;
  readonly p99?: number;
  readonly ratio?: string;
  readonly target?: string;
  readonly pass?: boolean;
  readonly note?: string;
}

export interface WorkloadResult {
  readonly name: string;
  readonly rows: Row[];
  /** Every sample, for results.json. */
  readonly raw: unknown;
  readonly error?: string;
  /** Each measured run's foreign load, and whether it was repeated or kept under load (added by run.ts). */
  readonly runs?: readonly RunLoad[];
  /** Foreign load over the whole workload (added by run.ts). */
  readonly load?: ForeignLoad;
}

export interface Workload {
  /** Also what `--only` selects it by. */
  readonly name: string;
  run(context: BenchContext): Promise<WorkloadResult>;
}
