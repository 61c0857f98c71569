import type { SnakepitPool } from 'snakepit-rx';
import { drain } from './drain.js';
import { nowMs } from './timing.js';

/** What the bench adapter's `small` and `small_paced` tools yield. */
interface SmallRecord {
  readonly seq: number;
}

/**
 * `streams` streams of the bench adapter's small records at once, each of
 * `count` (paced at `rate` a second, if given); resolves with the wall time
 * in ms. Fails unless every stream delivered each of its records once.
 */
export async function streamSmall(
  pool: SnakepitPool,
  count: number,
  { streams = 1, rate }: { readonly streams?: number; readonly rate?: number } = {},
): Promise<number> {
  const tool = rate === undefined ? 'small' : 'small_paced';
  const args = rate === undefined ? { count } : { count, rate };
  const started = nowMs();
  await Promise.all(
    Array.from({ length: streams }, async (_, stream) => {
      let received = 0;
      let seqSum = 0;
      await drain(pool.stream<SmallRecord | null>(tool, args), (record) => {
        received++;
        seqSum += record.seq;
      });
      if (received !== count || seqSum !== (count * (count - 1)) / 2) {
        throw new Error(`stream ${stream + 1} of ${streams}: got ${received} records, expected ${count}`);
      }
    }),
  );
  return nowMs() - started;
}
