import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** USER_HZ on Linux: /proc reports CPU time in hundredths of a second. */
const MS_PER_TICK = 10;

interface ProcessCpu {
  readonly ppid: number;
  readonly command: string;
  /** utime + stime + cutime + cstime: its own CPU time and that of every child it reaped. */
  readonly cpuMs: number;
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
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return { ppid: Number(fields[1]), command: text.slice(text.indexOf('(') + 1, close), cpuMs: ticks * MS_PER_TICK };
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
  /** The foreign processes that used the most CPU, as `command (pid): seconds`. */
  readonly top: readonly string[];
}

/**
 * Measures how much CPU processes outside the benchmark's own tree used
 * during a window: on a shared machine that skews every figure. Counted per
 * process from /proc/<pid>/stat (own and reaped children's time), so that it
 * does not depend on how the kernel's machine-wide counters are sampled: a
 * foreign process that starts and ends within the window is counted through
 * the parent that reaps it. The benchmark's own processes are found by
 * parentage at both ends of the window.
 */
export function watchForeignLoad(): { finish(): ForeignLoad } {
  const start = read();
  return {
    finish() {
      const end = read();
      const used: { pid: number; command: string; ms: number }[] = [];
      for (const [pid, now] of end.processes) {
        if (end.ownTree.has(pid) || start.ownTree.has(pid)) continue;
        const before = start.processes.get(pid);
        // A pid that was reused within the window reads lower than before: count it from zero.
        const ms = before === undefined || before.cpuMs > now.cpuMs ? now.cpuMs : now.cpuMs - before.cpuMs;
        if (ms > 0) used.push({ pid, command: now.command, ms });
      }
      const otherMs = used.reduce((sum, { ms }) => sum + ms, 0);
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
