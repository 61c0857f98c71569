/**
 * `npm run bench [-- --quick] [--only small-chunks,unary,...]`: measures the raw
 * transports and snakepit-rx side by side on the same workloads, prints a
 * table and writes bench/results.json.
 */
import { writeFileSync } from 'node:fs';
import { startBaselineServer } from './support/baseline-server.js';
import { startBenchPool, workerLog } from './support/bench-pool.js';
import { cleanUpAll, cleanUpOnSignals, interrupted } from './support/cleanup.js';
import { MODES, type BenchContext, type Mode, type Workload, type WorkloadResult } from './support/context.js';
import { watchForeignLoad } from './support/load.js';
import { machineInfo } from './support/machine.js';
import { resultsPath } from './support/paths.js';
import { renderTable } from './support/report.js';
import { withTimeout } from './support/timing.js';
import { arraysInChunks } from './workloads/arrays-in-chunks.js';
import { binaryChunks } from './workloads/binary-chunks.js';
import { boundedMemory } from './workloads/bounded-memory.js';
import { browser } from './workloads/browser.js';
import { cancellation } from './workloads/cancellation.js';
import { dataframes } from './workloads/dataframes.js';
import { dataset } from './workloads/dataset.js';
import { firstChunk } from './workloads/first-chunk.js';
import { hostTool } from './workloads/host-tool.js';
import { observability } from './workloads/observability.js';
import { poolStartWorkload } from './workloads/pool-start.js';
import { smallChunks } from './workloads/small-chunks.js';
import { unary } from './workloads/unary.js';
import { wireBounds } from './workloads/wire-bounds.js';
import { wireEncoder } from './workloads/wire-encoder.js';

const WORKLOADS: readonly Workload[] = [
  smallChunks,
  binaryChunks,
  dataset,
  firstChunk,
  unary,
  cancellation,
  poolStartWorkload,
  boundedMemory,
  wireEncoder,
  browser,
  hostTool,
  wireBounds,
  observability,
  arraysInChunks,
  dataframes,
];

/** A workload that takes longer than this is hung, and reported as such. */
const WORKLOAD_TIMEOUT_MS: Record<Mode, number> = { quick: 120_000, full: 600_000 };

function parseArguments(argv: readonly string[]): { mode: Mode; only: Set<string> | undefined } {
  const mode: Mode = argv.includes('--quick') ? 'quick' : 'full';
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? new Set((argv[onlyIndex + 1] ?? '').split(',').filter(Boolean)) : undefined;
  const unknown = [...(only ?? [])].filter((name) => !WORKLOADS.some((workload) => workload.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown workload ${unknown.join(', ')}; choose from ${WORKLOADS.map((workload) => workload.name).join(', ')}`);
  }
  return { mode, only };
}

async function main(): Promise<number> {
  cleanUpOnSignals();
  const { mode, only } = parseArguments(process.argv.slice(2));
  const config = MODES[mode];
  const machine = machineInfo();
  const started = new Date();
  // Other work on the machine skews every figure; it is measured so that a reader can tell.
  const foreignLoad = watchForeignLoad();
  const progress = (message: string) => process.stderr.write(`  · ${message}\n`);
  process.stderr.write(`snakepit-rx bench, ${mode} mode, ${machine.cpuModel} × ${machine.cores}\n`);

  const results: WorkloadResult[] = [];
  try {
    const baseline = await startBaselineServer();
    let shared = await startBenchPool(1);
    for (const workload of WORKLOADS) {
      if (interrupted()) break;
      if (only !== undefined && !only.has(workload.name)) continue;
      process.stderr.write(`${workload.name}\n`);
      const context: BenchContext = { mode, config, baselineAddress: baseline.address, pool: shared.pool, progress };
      try {
        results.push(await withTimeout(workload.run(context), WORKLOAD_TIMEOUT_MS[mode], workload.name));
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        process.stderr.write(`${workload.name} failed: ${message}\n`);
        results.push({ name: workload.name, rows: [], raw: null, error: message });
        // A hung call would hold the one worker and stall every later workload behind it.
        await shared.close();
        shared = await startBenchPool(1);
      }
    }
  } finally {
    await cleanUpAll();
  }

  if (interrupted()) return new Promise<number>(() => {}); // the signal handler exits once cleaned up
  const load = foreignLoad.finish();
  const failed = results.filter((result) => result.error !== undefined);
  writeFileSync(
    resultsPath,
    `${JSON.stringify(
      {
        date: started.toISOString(),
        durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
        mode,
        config,
        machine,
        load,
        workloads: results,
        ...(failed.length > 0 ? { workerLog } : {}),
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\n${renderTable(results)}\n\nresults: ${resultsPath}\n`);
  const share = `${(load.otherProcessesShare * 100).toFixed(1)}%`;
  process.stdout.write(`other processes used ${load.otherProcessesCpuSeconds.toFixed(1)} CPU-s (${share} of the machine) during the run\n`);
  if (load.otherProcessesShare > 0.05) process.stdout.write('warning: the machine was not idle; these figures may be skewed\n');
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
