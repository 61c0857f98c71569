/**
 * Workload 9: the hand-written ChunkBatch encoder of the worker
 * (worker-python/snakepit_bridge/wire.py) against the protobuf runtime, on
 * one 1 MiB chunk, in one Python process (bench/micro/wire_encoder.py). The
 * encoder exists because the runtime copies a chunk's data several times;
 * this re-checks that whenever protobuf is upgraded.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext, Workload, WorkloadResult } from '../support/context.js';
import { benchDir, python, workerPythonDir } from '../support/paths.js';
import { formatRatio } from '../support/report.js';
import { distribution } from '../support/stats.js';
import { callsPerRun, measureInTurns } from '../support/timing.js';

/** The runtime must take at least this many times as long for the hand-written encoder to earn its keep. */
const TARGET_SPEEDUP = 10;

interface EncoderSamples {
  readonly microseconds: { readonly hand: number[]; readonly runtime: number[] };
  /** The protobuf release and its implementation (upb, python). */
  readonly protobuf: string;
}

export const wireEncoder: Workload = {
  name: 'wire-encoder',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { runs, wireEncoderRuns } = context.config;
    const perRun = callsPerRun(wireEncoderRuns, runs);
    context.progress(`encoding a 1 MiB chunk ${perRun * runs} times each way`);
    const { encoder } = await measureInTurns(
      {
        encoder: async () => {
          const { stdout } = await promisify(execFile)(python, [join(benchDir, 'micro', 'wire_encoder.py'), '--runs', String(perRun)], {
            env: { ...process.env, PYTHONPATH: workerPythonDir },
          });
          return JSON.parse(stdout) as EncoderSamples;
        },
      },
      { name: 'wire encoder', warmup: 0, runs, progress: context.progress },
    );
    const samples: EncoderSamples = {
      protobuf: encoder![0]!.protobuf,
      microseconds: {
        hand: encoder!.flatMap((run) => run.microseconds.hand),
        runtime: encoder!.flatMap((run) => run.microseconds.runtime),
      },
    };
    const hand = distribution(samples.microseconds.hand);
    const runtime = distribution(samples.microseconds.runtime);
    const speedup = runtime.p50 / hand.p50;
    const workload = '9 encode one 1 MiB chunk';
    return {
      name: 'wire-encoder',
      rows: [
        { workload, path: `protobuf runtime ${samples.protobuf}`, unit: 'µs', median: runtime.p50, p99: runtime.p99 },
        {
          workload,
          path: 'by hand (wire.py)',
          unit: 'µs',
          median: hand.p50,
          p99: hand.p99,
          ratio: formatRatio(speedup, 'faster'),
          target: `≥ ${TARGET_SPEEDUP}× faster`,
          pass: speedup >= TARGET_SPEEDUP,
        },
      ],
      raw: { ...samples, distributions: { hand, runtime } },
    };
  },
};
