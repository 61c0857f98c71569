/**
 * Regenerates the TypeScript that describes the example adapters' tools
 * (examples/generated/), as a user would: with `snakepit-rx types`.
 *
 * Run: npm run examples:types
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { adapters, adaptersDir, generatedTypes } from './shared.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const command = fileURLToPath(new URL('../lib/cli/snakepit-rx.ts', import.meta.url));

for (const [name, out] of Object.entries(generatedTypes)) {
  const adapter = adapters[name as keyof typeof adapters];
  execFileSync(process.execPath, ['--import', 'tsx', command, 'types', adapter, '--python-path', adaptersDir, '--out', out], {
    cwd: root,
    stdio: 'inherit',
  });
}
