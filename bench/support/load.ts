import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** USER_HZ on Linux: /proc reports CPU time in hundredths of a second. */
const MS_PER_TICK = 10;

interface CpuReading {
  readonly wallMs: number;
  /** Busy CPU time of the whole machine. */
  readonly systemBusyMs: number;
  readonly stealMs: number;
  /** This process and every child it has reaped, their own children included. */
  readonly ownTreeMs: number;
}

function read(): CpuReading {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // irq and softirq time is left out: loopback traffic is the benchmark's own, yet no process is charged for it.
  const [user = 0, nice = 0, system = 0, , , , , steal = 0] = fields;
  const own = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ').map(Number);
  return {
    wallMs: performance.now(),
    systemBusyMs: (user + nice + system) * MS_PER_TICK,
    stealMs: steal * MS_PER_TICK,
    ownTreeMs: (own[11]! + own[12]! + own[13]! + own[14]!) * MS_PER_TICK,
  };
}

export interface ForeignLoad {
  /** CPU time other processes used during the run, in seconds. */
  readonly otherProcessesCpuSeconds: number;
  /** That time as a share of the machine's capacity over the run. */
  readonly otherProcessesShare: number;
  readonly stealSeconds: number;
}

/**
 * Measures how much CPU processes other than the benchmark's own used while
 * it ran: on a shared machine that skews every figure. Call `finish` once
 * every child has exited, so that their CPU time counts as the benchmark's.
 */
export function watchForeignLoad(): { finish(): ForeignLoad } {
  const start = read();
  return {
    finish() {
      const end = read();
      const other = Math.max(0, end.systemBusyMs - start.systemBusyMs - (end.ownTreeMs - start.ownTreeMs));
      return {
        otherProcessesCpuSeconds: other / 1000,
        otherProcessesShare: other / ((end.wallMs - start.wallMs) * cpus().length),
        stealSeconds: (end.stealMs - start.stealMs) / 1000,
      };
    },
  };
}
