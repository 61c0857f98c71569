/**
 * Output without newlines: a worker's stderr (its logs, and whatever its
 * tools print) and its stdout before the handshake are read in lines of
 * bounded length, a longer line arriving in marked pieces, so that no output
 * can pile up in Node's memory or crash it.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CUT_MARK, MAX_LINE_LENGTH } from '../lib/worker/bounded-lines.js';
import { resolvePython } from '../lib/worker/python-environment.js';
import { startTestPool, waitUntil } from './support/pools.js';
import { specTempDir } from './support/temp-files.js';

/** What onLog received, without keeping it: the count, the longest line, the marked pieces and the characters. */
function logTally() {
  const tally = { lines: 0, longest: 0, cut: 0, characters: 0, last: '' };
  const onLog = (line: string) => {
    tally.lines += 1;
    tally.longest = Math.max(tally.longest, line.length);
    if (line.endsWith(CUT_MARK)) {
      tally.cut += 1;
      tally.characters += line.length - CUT_MARK.length;
    } else {
      tally.characters += line.length;
    }
    tally.last = line.slice(0, 40);
  };
  return { tally, onLog };
}

describe('a tool writing a line longer than any buffer', () => {
  it.each(['stderr', 'stdout'])('20 MiB without a newline on %s arrives in marked pieces of bounded length', async (stream) => {
    const { tally, onLog } = logTally();
    const { pool } = await startTestPool({ onLog });
    try {
      const size = 20 * 1024 * 1024;
      await expect(pool.execute('write_long_line', { size, stream })).resolves.toBe(size);
      await waitUntil(() => tally.characters >= size, 10_000, 'the whole line to arrive');
      expect(tally.characters).toBe(size);
      expect(tally.longest).toBeLessThanOrEqual(MAX_LINE_LENGTH + CUT_MARK.length);
      expect(tally.cut).toBe(Math.ceil(size / MAX_LINE_LENGTH) - 1);
      await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('600 MiB without a newline, more than V8 can hold as one string, leaves Node running and the pool serving', async () => {
    const { tally, onLog } = logTally();
    const { pool } = await startTestPool({ onLog });
    try {
      const size = 600 * 1024 * 1024;
      await expect(pool.execute('write_long_line', { size }, { timeout: 120_000 })).resolves.toBe(size);
      await waitUntil(() => tally.characters >= size, 60_000, 'the whole line to arrive');
      expect(tally.longest).toBeLessThanOrEqual(MAX_LINE_LENGTH + CUT_MARK.length);
      await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    } finally {
      await pool.close();
    }
  }, 180_000);
});

describe('a worker whose stdout carries a long line before its handshake', () => {
  it('starts, and the line reaches onLog in marked pieces', async () => {
    // An interpreter wrapper that writes 5 MiB without a newline before Python starts.
    const wrapper = join(specTempDir('python-'), 'python');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nhead -c 5242880 /dev/zero | tr '\\0' 'y'\necho\nexec ${JSON.stringify(resolvePython(undefined))} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const { tally, onLog } = logTally();
    const { pool } = await startTestPool({ python: wrapper, onLog });
    try {
      expect(tally.characters).toBe(5 * 1024 * 1024);
      expect(tally.longest).toBeLessThanOrEqual(MAX_LINE_LENGTH + CUT_MARK.length);
      await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    } finally {
      await pool.close();
    }
  });
});
