/**
 * Every measured run is checked for foreign load: a run during which other
 * processes used more than `limit` of the machine is repeated, up to
 * `maxRepeats` times, and kept but marked if the machine never quietened.
 * `bench/run.ts` installs a monitor around each workload; the measuring
 * helpers (`measureInTurns`) run each of their runs through it.
 */
import { watchForeignLoad, type ForeignLoad } from './load.js';

/** Other processes may use at most this share of the machine during a run that counts as quiet. */
export const LOAD_LIMIT = 0.05;

/** What became of one measured run. */
export interface RunLoad {
  /** Names the run, as the progress messages do. */
  readonly label: string;
  /** Foreign load during the run that was kept, as a share of the machine. */
  readonly share: number;
  readonly stealSeconds: number;
  /** 1 when the first attempt was quiet; each repeat adds one. */
  readonly attempts: number;
  /** Kept although other processes used more than the limit during it. */
  readonly marked: boolean;
  /** The busiest foreign processes during the kept run, when it was marked. */
  readonly top?: readonly string[];
}

export class LoadMonitor {
  private records: RunLoad[] = [];

  constructor(
    readonly maxRepeats: number,
    readonly limit = LOAD_LIMIT,
    private readonly watch: () => { finish(): ForeignLoad } = watchForeignLoad,
  ) {}

  /** Runs `body`, again while other processes used more than the limit during it (at most `maxRepeats` more times); returns the run kept. */
  async run<T>(label: string, body: () => Promise<T>, progress: (message: string) => void): Promise<T> {
    for (let attempts = 1; ; attempts++) {
      const probe = this.watch();
      const value = await body();
      const load = probe.finish();
      const loaded = load.otherProcessesShare > this.limit;
      if (!loaded || attempts > this.maxRepeats) {
        this.records.push({
          label,
          share: load.otherProcessesShare,
          stealSeconds: load.stealSeconds,
          attempts,
          marked: loaded,
          ...(loaded ? { top: load.top } : {}),
        });
        return value;
      }
      progress(`${label}: other processes used ${percent(load.otherProcessesShare)} of the machine (${load.top.join(', ')}); repeating`);
    }
  }

  /** The runs recorded since the last call. */
  take(): RunLoad[] {
    const taken = this.records;
    this.records = [];
    return taken;
  }
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

let active: LoadMonitor | undefined;

/** Makes `monitor` check the runs measured from now on; undefined stops checking (specs of the helpers run unchecked). */
export function useLoadMonitor(monitor: LoadMonitor | undefined): void {
  active = monitor;
}

/** One measured run, checked by the monitor in use, if any. */
export function checkedRun<T>(label: string, body: () => Promise<T>, progress: (message: string) => void): Promise<T> {
  return active === undefined ? body() : active.run(label, body, progress);
}

/** A note for a workload's rows when some of its runs were kept under load, else undefined. */
export function loadNote(runs: readonly RunLoad[]): string | undefined {
  const marked = runs.filter((run) => run.marked);
  if (marked.length === 0) return undefined;
  const worst = Math.max(...marked.map((run) => run.share));
  return `⚠ ${marked.length}/${runs.length} runs under load (up to ${percent(worst)})`;
}
