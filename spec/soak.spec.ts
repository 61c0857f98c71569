import { describe, expect, it } from 'vitest';
import type { Chunk } from '../lib/index.js';
import { reportFigure, startTestPool, waitUntil } from './support/pools.js';

/** A small deterministic generator, so that a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('soak', () => {
  it('1,000 streams over a pool of 4, some unsubscribing early: every completed stream is whole and in order', async () => {
    const { pool } = await startTestPool({ size: 4 });
    try {
      const next = random(20261124);
      const startedAt = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 1000 }, (_, stream) => {
          const n = 1 + Math.floor(next() * 300);
          const leaveAt = next() < 0.2 ? Math.floor(next() * n) : undefined;
          return new Promise<{ stream: number; n: number; received: Chunk<{ seq: number } | null>[]; completed: boolean }>(
            (resolve, reject) => {
              const received: Chunk<{ seq: number } | null>[] = [];
              const subscription = pool.stream<{ seq: number } | null>('sequence', { n }).subscribe({
                next: (chunk) => {
                  received.push(chunk);
                  if (chunk.index === leaveAt) {
                    subscription.unsubscribe();
                    resolve({ stream, n, received, completed: false });
                  }
                },
                error: reject,
                complete: () => resolve({ stream, n, received, completed: true }),
              });
            },
          );
        }),
      );
      reportFigure('soak: 1,000 streams over 4 workers', performance.now() - startedAt, 'ms');
      const completed = outcomes.filter((outcome) => outcome.completed);
      expect(completed.length).toBeGreaterThan(700);
      expect(outcomes.length - completed.length).toBeGreaterThan(100);
      for (const { n, received } of completed) {
        expect(received.map((chunk) => chunk.data?.seq)).toEqual([...Array.from({ length: n }, (_, i) => i), undefined]);
        expect(received.at(-1)?.isFinal).toBe(true);
      }
      await waitUntil(() => pool.stats().busy === 0, 10_000, 'cancelled calls to hand their workers back');
      expect(pool.stats()).toMatchObject({ workers: 4, busy: 0, idle: 4, queued: 0, restarts: 0, errors: 0 });
    } finally {
      await pool.close();
    }
  }, 120_000);
});
