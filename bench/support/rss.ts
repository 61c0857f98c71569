import { readFileSync } from 'node:fs';

const MIB = 1024 * 1024;

/** A process's resident set in bytes, from /proc; NaN once it has gone. */
export function processRss(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface RssSample {
  /** ms since the sampler started. */
  readonly t: number;
  readonly node: number;
  readonly worker: number;
}

export interface RssGrowth {
  readonly nodeBaselineMiB: number;
  readonly workerBaselineMiB: number;
  readonly nodeGrowthMiB: number;
  readonly workerGrowthMiB: number;
  readonly samples: readonly RssSample[];
}

/** Samples Node's and a worker's RSS on a timer; growth is the largest sample minus the one taken at start. */
export class RssSampler {
  private readonly samples: RssSample[] = [];
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly workerPid: number) {}

  start(intervalMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): RssGrowth {
    clearInterval(this.timer);
    this.sample();
    const [first] = this.samples;
    const nodeMax = Math.max(...this.samples.map((sample) => sample.node));
    const workerMax = Math.max(...this.samples.map((sample) => sample.worker));
    return {
      nodeBaselineMiB: first!.node / MIB,
      workerBaselineMiB: first!.worker / MIB,
      nodeGrowthMiB: (nodeMax - first!.node) / MIB,
      workerGrowthMiB: (workerMax - first!.worker) / MIB,
      samples: this.samples,
    };
  }

  private sample(): void {
    this.samples.push({
      t: Math.round((performance.now() - this.started) * 10) / 10,
      node: process.memoryUsage.rss(),
      worker: processRss(this.workerPid),
    });
  }
}
