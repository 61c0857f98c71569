import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The variable naming this run's directory for temporary files, which the global teardown removes (global-setup.ts). */
export const SPEC_TEMP_ROOT = 'SNAKEPIT_SPEC_TMP';

/** A new directory for a test's files, inside this run's: nothing a test writes outlives the run. */
export function specTempDir(prefix = 'spec-'): string {
  return mkdtempSync(join(process.env[SPEC_TEMP_ROOT] ?? tmpdir(), prefix));
}
