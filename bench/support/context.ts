import type { SnakepitPool } from 'snakepit-rx';

export type Mode = 'quick' | 'full';

/** Sizes of every workload; quick mode trades precision for a run of about a minute. */
export interface ModeConfig {
  /** Measured runs per throughput path, after one warm-up run each. */
  readonly runs: number;
  readonly smallChunks: number;
  readonly binaryChunks: number;
  readonly datasetRows: number;
  readonly datasetChunkSize: number;
  readonly latencyIterations: number;
  readonly unaryIterations: number;
  readonly cancelIterations: number;
  readonly poolStartRuns: number;
  readonly memoryChunks: number;
  /** Encodings of one 1 MiB chunk by each encoder. */
  readonly wireEncoderRuns: number;
}

export const MODES: Readonly<Record<Mode, ModeConfig>> = {
  quick: {
    runs: 3,
    smallChunks: 30_000,
    binaryChunks: 256,
    datasetRows: 200_000,
    datasetChunkSize: 1000,
    latencyIterations: 300,
    unaryIterations: 300,
    cancelIterations: 20,
    poolStartRuns: 3,
    memoryChunks: 128,
    wireEncoderRuns: 200,
  },
  full: {
    runs: 5,
    smallChunks: 100_000,
    binaryChunks: 1024,
    datasetRows: 500_000,
    datasetChunkSize: 1000,
    latencyIterations: 1000,
    unaryIterations: 2000,
    cancelIterations: 50,
    poolStartRuns: 5,
    memoryChunks: 1024,
    wireEncoderRuns: 1000,
  },
};

export interface BenchContext {
  readonly mode: Mode;
  readonly config: ModeConfig;
  /** host:port of the running plain grpcio server (bench/baseline/grpc_server.py). */
  readonly baselineAddress: string;
  /** A warm one-worker pool on the bench adapter, shared by the workloads that do not start their own. */
  readonly pool: SnakepitPool;
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
}

export interface Workload {
  /** Also what `--only` selects it by. */
  readonly name: string;
  run(context: BenchContext): Promise<WorkloadResult>;
}
