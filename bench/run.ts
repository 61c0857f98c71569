/**
 * `npm run bench [-- --quick] [--only small-chunks,unary,...] [--runs N] [--repeats N]`:
 * measures the raw transports and snakepit-rx side by side on the same
 * workloads and prints a table. A complete run (full mode, every workload, none
 * failed, at least FULL_RUNS runs a figure) writes bench/results.json and rewrites the
 * README's performance table from it; any other run writes
 * bench/results.partial.json and leaves both alone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBaselineServer } from './support/baseline-server.js';
import { startBenchPool, workerLog, type BenchPool } from './support/bench-pool.js';
import { cleanUpAll, cleanUpOnSignals, interrupted, onCleanup } from './support/cleanup.js';
import { FULL_RUNS, MODES, type BenchContext, type Mode, type ModeConfig, type Workload, type WorkloadResult } from './support/context.js';
import { controlEnvironment } from './support/environment.js';
import { watchForeignLoad, type ForeignLoad } from './support/load.js';
import { machineInfo } from './support/machine.js';
import { renderTable } from './support/report.js';
import {
  partialResultsPath,
  readmePath,
  renderMarkdown,
  replaceTable,
  resultsPath,
  writeResults,
  type BenchResults,
} from './support/results.js';
import { LOAD_LIMIT, LoadMonitor, loadNote, percent, useLoadMonitor } from './support/run-load.js';
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
import { poolThroughput } from './workloads/pool-throughput.js';
import { scaleOut } from './workloads/scale-out.js';
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
  poolThroughput,
  observability,
  scaleOut,
  arraysInChunks,
  dataframes,
];

/** A workload that takes longer than this is hung, and reported as such. */
const WORKLOAD_TIMEOUT_MS: Record<Mode, number> = { quick: 300_000, full: 1_200_000 };

interface Arguments {
  readonly mode: Mode;
  readonly only: Set<string> | undefined;
  readonly config: ModeConfig;
}

function count(argv: readonly string[], flag: string): number | undefined {
  const index = argv.indexOf(flag);
  if (index < 0) return undefined;
  const value = Number(argv[index + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} takes a whole number, got ${String(argv[index + 1])}`);
  return value;
}

function parseArguments(argv: readonly string[]): Arguments {
  const mode: Mode = argv.includes('--quick') ? 'quick' : 'full';
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? new Set((argv[onlyIndex + 1] ?? '').split(',').filter(Boolean)) : undefined;
  const unknown = [...(only ?? [])].filter((name) => !WORKLOADS.some((workload) => workload.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown workload ${unknown.join(', ')}; choose from ${WORKLOADS.map((workload) => workload.name).join(', ')}`);
  }
  const runs = count(argv, '--runs');
  const repeats = count(argv, '--repeats');
  if (runs === 0) throw new Error('--runs must be at least 1');
  const config = { ...MODES[mode], ...(runs === undefined ? {} : { runs }), ...(repeats === undefined ? {} : { repeats }) };
  return { mode, only, config };
}

/** Adds the runs' load to a workload's result, and marks its rows when some of its runs were kept under load. */
function withLoad(result: WorkloadResult, monitor: LoadMonitor, load: ForeignLoad): WorkloadResult {
  const runs = monitor.take();
  const note = loadNote(runs);
  const rows = note === undefined ? result.rows : result.rows.map((row) => ({ ...row, note: row.note ? `${row.note} ${note}` : note }));
  return { ...result, rows, runs, load };
}

async function main(): Promise<number> {
  cleanUpOnSignals();
  const { mode, only, config } = parseArguments(process.argv.slice(2));
  const environment = controlEnvironment();
  const machine = machineInfo();
  const started = new Date();
  // Other work on the machine skews every figure; it is measured so that a reader can tell.
  const foreignLoad = watchForeignLoad();
  const monitor = new LoadMonitor(config.repeats);
  useLoadMonitor(monitor);
  const progress = (message: string) => process.stderr.write(`  · ${message}\n`);
  process.stderr.write(`snakepit-rx bench, ${mode} mode, ${config.runs} runs a figure, ${machine.cpuModel} × ${machine.cores}\n`);
  if (config.runs < FULL_RUNS)
    process.stderr.write(`  (fewer than the ${FULL_RUNS} runs a figure of a full run: these figures are rough)\n`);

  const results: WorkloadResult[] = [];
  try {
    const sockets = mkdtempSync(join('/tmp', 'snakepit-bench-'));
    onCleanup(() => rmSync(sockets, { recursive: true, force: true }));
    const baseline = await startBaselineServer({ unixSocket: join(sockets, 'baseline.sock') });
    let shared: BenchPool = await startBenchPool(1);
    let sharedTcp: BenchPool = await startBenchPool(1, { transport: 'tcp' });
    for (const workload of WORKLOADS) {
      if (interrupted()) break;
      if (only !== undefined && !only.has(workload.name)) continue;
      process.stderr.write(`${workload.name}\n`);
      const context: BenchContext = {
        mode,
        config,
        baselineAddress: baseline.address,
        baselineUnixAddress: baseline.unixAddress!,
        pool: shared.pool,
        tcpPool: sharedTcp.pool,
        progress,
      };
      const workloadLoad = watchForeignLoad();
      try {
        const result = await withTimeout(workload.run(context), WORKLOAD_TIMEOUT_MS[mode], workload.name);
        results.push(withLoad(result, monitor, workloadLoad.finish()));
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        process.stderr.write(`${workload.name} failed: ${message}\n`);
        results.push(withLoad({ name: workload.name, rows: [], raw: null, error: message }, monitor, workloadLoad.finish()));
        // A hung call would hold the one worker and stall every later workload behind it.
        await Promise.all([shared.close(), sharedTcp.close()]);
        shared = await startBenchPool(1);
        sharedTcp = await startBenchPool(1, { transport: 'tcp' });
      }
    }
  } finally {
    useLoadMonitor(undefined);
    await cleanUpAll();
  }

  if (interrupted()) return new Promise<number>(() => {}); // the signal handler exits once cleaned up
  const load = foreignLoad.finish();
  const failed = results.filter((result) => result.error !== undefined);
  // A failed workload would replace the committed figures of its rows with nothing.
  const complete = failed.length === 0 && mode === 'full' && only === undefined && config.runs >= FULL_RUNS;
  const document: BenchResults = {
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
    mode,
    complete,
    config,
    machine,
    environment,
    load,
    workloads: results,
    ...(failed.length > 0 ? { workerLog } : {}),
  };
  const path = complete ? resultsPath : partialResultsPath;
  writeResults(path, document);
  process.stdout.write(`\n${renderTable(results)}\n\nresults: ${path}\n`);
  if (complete) {
    writeFileSync(readmePath, replaceTable(readFileSync(readmePath, 'utf8'), renderMarkdown(document)));
    process.stdout.write(`README.md: the performance table is now this run's\n`);
  } else {
    process.stdout.write(`not a complete full run: bench/results.json and README.md are left as they were\n`);
  }
  process.stdout.write(
    `other processes used ${load.otherProcessesCpuSeconds.toFixed(1)} CPU-s (${percent(load.otherProcessesShare)} of the machine) during the run\n`,
  );
  if (load.otherProcessesShare > LOAD_LIMIT) process.stdout.write('warning: the machine was not idle; these figures may be skewed\n');
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
