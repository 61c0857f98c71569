/** The statistics and reporting helpers of `npm run bench` (bench/support/), whose figures the README quotes. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FULL_RUNS } from '../bench/support/context.js';
import { baselineEnvironment, controlEnvironment } from '../bench/support/environment.js';
import { watchForeignLoad, type ForeignLoad } from '../bench/support/load.js';
import { readmePath, readResults, renderMarkdown, replaceTable, TABLE_BEGIN, TABLE_END } from '../bench/support/results.js';
import { checkedRun, LOAD_LIMIT, LoadMonitor, loadNote, useLoadMonitor } from '../bench/support/run-load.js';
import { formatNumber, formatRatio, renderTable } from '../bench/support/report.js';
import { distribution, median, percentile } from '../bench/support/stats.js';
import { callsPerRun, measureInTurns, measureRates, withTimeout } from '../bench/support/timing.js';

describe('bench statistics', () => {
  it('interpolates percentiles between the closest ranks, whatever order the samples came in', () => {
    const samples = [40, 10, 30, 20];
    expect(percentile(samples, 0)).toBe(10);
    expect(percentile(samples, 100)).toBe(40);
    expect(percentile(samples, 50)).toBe(25);
    expect(percentile(samples, 25)).toBeCloseTo(17.5);
    expect(median([3, 1, 2])).toBe(2);
    // The samples are raw measurements: they keep their order.
    expect(samples).toEqual([40, 10, 30, 20]);
  });

  it('ignores samples that are not finite, and gives NaN without any', () => {
    expect(median([1, Number.NaN, 3, Infinity])).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(distribution([])).toEqual({ count: 0, p50: Number.NaN, p99: Number.NaN, min: Number.NaN, max: Number.NaN });
  });

  it('summarizes a distribution', () => {
    const samples = Array.from({ length: 101 }, (_, i) => 100 - i);
    expect(distribution(samples)).toEqual({ count: 101, p50: 50, p99: 99, min: 0, max: 100 });
  });
});

describe('bench reporting', () => {
  it('formats figures by unit, and ratios with two significant decimals below 10', () => {
    expect(formatNumber(1.234, 'ms')).toBe('1.23');
    expect(formatNumber(12.34, 'ms')).toBe('12.3');
    expect(formatNumber(37.84, 'MiB')).toBe('37.8');
    expect(formatNumber(245_342.4, '/s')).toBe('245,342');
    expect(formatNumber(undefined, 'ms')).toBe('');
    expect(formatNumber(Number.NaN, 'ms')).toBe('n/a');
    expect(formatRatio(1.4949, 'a')).toBe('1.49× a');
    expect(formatRatio(25.24, 'a')).toBe('25.2× a');
    expect(formatRatio(Number.NaN, 'a')).toBe('n/a a');
  });

  it('renders a table with a row per path, failures first, and pass or MISS against targets', () => {
    const table = renderTable([
      { name: 'broken', rows: [], raw: null, error: 'it hung\nstack' },
      {
        name: 'unary',
        raw: null,
        rows: [
          { workload: '5 unary', path: 'a', unit: 'ms', median: 0.64, p99: 3.43 },
          { workload: '5 unary', path: 'b', unit: 'ms', median: 2, ratio: '3.13× a', target: '≤ 1.5 ms', pass: false },
        ],
      },
    ]).split('\n');
    expect(table[0]).toMatch(/^Workload\s+Path\s+Median\s+p99\s+Unit\s+Ratio\s+Target\s+Result$/);
    expect(table[2]).toMatch(/^broken\s+FAILED\s+it hung$/);
    expect(table[3]).toMatch(/^5 unary\s+a\s+0\.64\s+3\.43\s+ms$/);
    expect(table[4]).toMatch(/^5 unary\s+b\s+2\.00\s+ms\s+3\.13× a\s+≤ 1\.5 ms\s+MISS$/);
  });
});

describe('bench timing', () => {
  it('warms every path up, then measures them in turns, run after run', async () => {
    const calls: string[] = [];
    const samples = await measureInTurns(
      {
        a: (turn) => Promise.resolve(calls.push(`a${turn.warmup ? 'w' : ''}${turn.index}`)),
        b: (turn) => Promise.resolve(calls.push(`b${turn.warmup ? 'w' : ''}${turn.index}`)),
      },
      { name: 'spec', warmup: 1, runs: 2, progress: () => undefined },
    );
    expect(calls).toEqual(['aw0', 'bw0', 'a0', 'b0', 'a1', 'b1']);
    expect(samples).toEqual({ a: [3, 5], b: [4, 6] });
  });

  it('alternates the paths call by call within a run of several calls', async () => {
    const calls: string[] = [];
    const samples = await measureInTurns(
      {
        a: (turn) => Promise.resolve(calls.push(`a${turn.index}`)),
        b: (turn) => Promise.resolve(calls.push(`b${turn.index}`)),
      },
      { name: 'spec', warmup: 0, runs: 2, iterations: 2, progress: () => undefined },
    );
    expect(calls).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
    expect(samples).toEqual({ a: [1, 3, 5, 7], b: [2, 4, 6, 8] });
    expect(callsPerRun(1000, 7)).toBe(143);
    expect(callsPerRun(3, 7)).toBe(1);
  });

  it('turns durations into rates of units per second', async () => {
    const rates = await measureRates(
      { path: (size) => Promise.resolve(size / 10) },
      { name: 'spec', warmup: 0, runs: 2, progress: () => undefined, size: (_, turn) => 100 * (turn.index + 1), units: (n) => n * 2 },
    );
    // size 100 takes 10 ms: 200 units in 10 ms, 20,000 per second, whatever the size.
    expect(rates).toEqual({ path: [20_000, 20_000] });
  });

  it('fails a measurement that hangs, instead of the whole run', async () => {
    await expect(withTimeout(new Promise(() => undefined), 10, 'the spec')).rejects.toThrow('the spec did not finish within 10 ms');
    await expect(withTimeout(Promise.resolve(7), 10, 'the spec')).resolves.toBe(7);
  });
});

/** A foreign-load probe that reports the given shares in turn, one per run. */
function probes(shares: number[]): () => { finish(): ForeignLoad } {
  return () => ({
    finish: () => {
      const share = shares.shift() ?? 0;
      return { otherProcessesCpuSeconds: share, otherProcessesShare: share, stealSeconds: 0, wallSeconds: 1, top: ['busy (1): 1.00 s'] };
    },
  });
}

describe('bench load checks', () => {
  afterEach(() => useLoadMonitor(undefined));

  it('repeats a run during which other processes used more than 5 % of the machine, and keeps the first quiet one', async () => {
    const monitor = new LoadMonitor(2, LOAD_LIMIT, probes([0.3, 0.01]));
    useLoadMonitor(monitor);
    const messages: string[] = [];
    let calls = 0;
    const samples = await measureInTurns(
      { a: () => Promise.resolve(++calls) },
      { name: 'spec', warmup: 0, runs: 1, progress: (m) => messages.push(m) },
    );
    expect(samples).toEqual({ a: [2] });
    expect(messages.some((message) => message.includes('30.0 %') && message.includes('repeating'))).toBe(true);
    expect(monitor.take()).toEqual([{ label: 'spec: run 1/1', share: 0.01, stealSeconds: 0, attempts: 2, marked: false }]);
    expect(monitor.take()).toEqual([]);
  });

  it('keeps a run and marks it once the repeats are used up', async () => {
    const monitor = new LoadMonitor(1, LOAD_LIMIT, probes([0.5, 0.2, 0.01]));
    useLoadMonitor(monitor);
    let calls = 0;
    const samples = await measureInTurns(
      { a: () => Promise.resolve(++calls) },
      { name: 'spec', warmup: 0, runs: 2, progress: () => undefined },
    );
    expect(samples).toEqual({ a: [2, 3] });
    const runs = monitor.take();
    expect(runs.map((run) => [run.attempts, run.marked])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(runs[0]!.top).toEqual(['busy (1): 1.00 s']);
    expect(loadNote(runs)).toBe('⚠ 1/2 runs under load (up to 20.0 %)');
    expect(loadNote(runs.slice(1))).toBeUndefined();
  });

  it('runs once, unchecked, without a monitor', async () => {
    let calls = 0;
    await expect(
      checkedRun(
        'spec',
        () => Promise.resolve(++calls),
        () => undefined,
      ),
    ).resolves.toBe(1);
  });

  it("does not count the benchmark's own processes as foreign load", async () => {
    const probe = watchForeignLoad();
    // Still running, and busy, when the window closes: once reaped, its time would count as ours anyway.
    const child = spawn(process.execPath, [
      '-e',
      "const end = Date.now() + 300; while (Date.now() < end); process.stdout.write('busy'); for (;;);",
    ]);
    try {
      await once(child.stdout, 'data');
      const load = probe.finish();
      expect(load.wallSeconds).toBeGreaterThan(0.2);
      expect(load.top.some((entry) => entry.includes(`(${child.pid})`) || entry.includes(`(${process.pid})`))).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('removes the variables that change how fast Python runs from the baselines’ environment', () => {
    const saved = process.env['PYTHONUNBUFFERED'];
    process.env['PYTHONUNBUFFERED'] = '1';
    try {
      expect(baselineEnvironment()['PYTHONUNBUFFERED']).toBeUndefined();
      expect(baselineEnvironment({ PYTHONPATH: '/x' })['PYTHONPATH']).toBe('/x');
    } finally {
      if (saved === undefined) delete process.env['PYTHONUNBUFFERED'];
      else process.env['PYTHONUNBUFFERED'] = saved;
    }
  });

  it('removes them from its own environment before anything starts (the workers inherit it), and says which', () => {
    const saved = process.env['PYTHONUNBUFFERED'];
    process.env['PYTHONUNBUFFERED'] = 'x';
    try {
      expect(controlEnvironment().removed['PYTHONUNBUFFERED']).toBe('x');
      expect(process.env['PYTHONUNBUFFERED']).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['PYTHONUNBUFFERED'];
      else process.env['PYTHONUNBUFFERED'] = saved;
    }
  });
});

describe("the README's performance table", () => {
  it('replaces only the text between its markers', () => {
    const readme = `intro\n${TABLE_BEGIN}\nold table\n${TABLE_END}\nafter\n`;
    expect(replaceTable(readme, 'new | table')).toBe(`intro\n${TABLE_BEGIN}\n\nnew | table\n\n${TABLE_END}\nafter\n`);
    expect(() => replaceTable('no markers', 'x')).toThrow('no <!-- bench-table:begin');
  });

  it('is the one bench/results.json renders, from a complete full run', () => {
    const results = readResults();
    expect(results.complete).toBe(true);
    expect(results.config.runs).toBeGreaterThanOrEqual(FULL_RUNS);
    const readme = readFileSync(readmePath, 'utf8');
    expect(replaceTable(readme, renderMarkdown(results))).toBe(readme);
  });
});
