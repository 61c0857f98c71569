import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** USER_HZ on Linux: /proc reports CPU time in hundredths of a second. */
const MS_PER_TICK = 10;

interface ProcessCpu {
  readonly ppid: number;
  readonly command: string;
  /** utime + stime + cutime + cstime: its own CPU time and that of every child it reaped. */
  readonly cpuMs: number;
  /** utime + stime: its own alone. */
  readonly selfMs: number;
}

interface Reading {
  readonly wallMs: number;
  readonly stealMs: number;
  readonly processes: ReadonlyMap<number, ProcessCpu>;
  /** This process and its descendants: the benchmark's own processes (workers, baselines, Chromium). */
  readonly ownTree: ReadonlySet<number>;
}

function parseStat(text: string): ProcessCpu | undefined {
  // The command sits in parentheses and may itself hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // Fields from the state on: 3 state, 4 ppid, ... 14 utime, 15 stime, 16 cutime, 17 cstime (proc(5)).
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [number, number, number, number];
  return {
    ppid: Number(fields[1]),
    command: text.slice(text.indexOf('(') + 1, close),
    cpuMs: (utime + stime + cutime + cstime) * MS_PER_TICK,
    selfMs: (utime + stime) * MS_PER_TICK,
  };
}

function readProcesses(): Map<number, ProcessCpu> {
  const processes = new Map<number, ProcessCpu>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parsed = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (parsed !== undefined) processes.set(Number(entry), parsed);
    } catch {
      // It exited between the listing and the read.
    }
  }
  return processes;
}

function descendantsOf(root: number, processes: ReadonlyMap<number, ProcessCpu>): Set<number> {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of processes) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const tree = new Set<number>([root]);
  const pending = [root];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (!tree.has(child)) {
        tree.add(child);
        pending.push(child);
      }
    }
  }
  return tree;
}

function read(): Reading {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const processes = readProcesses();
  return {
    wallMs: performance.now(),
    stealMs: (fields[7] ?? 0) * MS_PER_TICK,
    processes,
    ownTree: descendantsOf(process.pid, processes),
  };
}

export interface ForeignLoad {
  /** CPU time processes other than the benchmark's own used during the window, in seconds. */
  readonly otherProcessesCpuSeconds: number;
  /** That time as a share of the machine's capacity over the window (1 = every core busy). */
  readonly otherProcessesShare: number;
  /** Time the hypervisor gave this machine's CPUs to others, in seconds. */
  readonly stealSeconds: number;
  readonly wallSeconds: number;
  /** The foreign processes that used the most CPU themselves, as `command (pid): seconds`. */
  readonly top: readonly string[];
}

/**
 * Measures how much CPU processes outside the benchmark's own tree used
 * during a window: on a shared machine that skews every figure. Counted per
 * process from /proc/<pid>/stat, so that it does not depend on how the
 * kernel's machine-wide counters are sampled. A process's count includes the
 * children it reaped: when a foreign process ends within the window, its
 * whole count moves into its reaper's, so the foreign load is the growth of
 * the sum of every foreign process's count (the ended ones' counts at the
 * start taken off), not of each process alone, which would count an ended
 * process's whole life. The benchmark's own processes are found by parentage
 * at either end of the window.
 */
export function watchForeignLoad(): { finish(): ForeignLoad } {
  const start = read();
  return {
    finish() {
      const end = read();
      const own = new Set([...start.ownTree, ...end.ownTree]);
      const foreignTotal = (reading: Reading) =>
        [...reading.processes].reduce((sum, [pid, { cpuMs }]) => (own.has(pid) ? sum : sum + cpuMs), 0);
      const otherMs = Math.max(0, foreignTotal(end) - foreignTotal(start));
      const used: { pid: number; command: string; ms: number }[] = [];
      for (const [pid, now] of end.processes) {
        if (own.has(pid)) continue;
        const before = start.processes.get(pid);
        // A pid that was reused within the window reads lower than before: count it from zero.
        const ms = before === undefined || before.selfMs > now.selfMs ? now.selfMs : now.selfMs - before.selfMs;
        if (ms > 0) used.push({ pid, command: now.command, ms });
      }
      const wallMs = end.wallMs - start.wallMs;
      return {
        otherProcessesCpuSeconds: otherMs / 1000,
        otherProcessesShare: wallMs > 0 ? otherMs / (wallMs * cpus().length) : 0,
        stealSeconds: (end.stealMs - start.stealMs) / 1000,
        wallSeconds: wallMs / 1000,
        top: used
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 3)
          .map(({ pid, command, ms }) => `${command} (${pid}): ${(ms / 1000).toFixed(2)} s`),
      };
    },
  };
}
