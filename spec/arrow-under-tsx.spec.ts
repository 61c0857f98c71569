/**
 * Arrow data in a process run with tsx: its loader compiles an ES module
 * that CommonJS requires into a second copy, so apache-arrow as the pool
 * loads it is not the application's. toArrowTable must gather the batches
 * all the same (it failed: "Table and inner RecordBatch schemas must be
 * equivalent").
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('Arrow data under tsx', () => {
  it("toArrowTable gathers record batches of the pool's copy of apache-arrow", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'spec/fixtures/arrow-under-tsx.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });

    expect(JSON.parse(stdout)).toEqual({
      // The situation this spec is about: if tsx stops making a second copy, it no longer tests anything.
      secondCopy: true,
      rows: 12,
      batches: 3,
      x: Array.from({ length: 12 }, (_, index) => index),
    });
  }, 90_000);
});
