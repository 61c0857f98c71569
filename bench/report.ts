/**
 * `npm run bench:report [-- --check]`: rewrites the README's performance
 * table from bench/results.json (after a merge, say), or with `--check`
 * exits 1 when the table is not the one results.json renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readmePath, readResults, renderMarkdown, replaceTable } from './support/results.js';

const readme = readFileSync(readmePath, 'utf8');
const results = readResults();
if (!results.complete) {
  process.stderr.write('bench/results.json is not from a complete full run; run `npm run bench`\n');
  process.exit(1);
}
const rendered = replaceTable(readme, renderMarkdown(results));
if (process.argv.includes('--check')) {
  if (rendered !== readme) {
    process.stderr.write('README.md: the performance table is not the one bench/results.json renders; run `npm run bench:report`\n');
    process.exit(1);
  }
} else {
  writeFileSync(readmePath, rendered);
}
