#!/usr/bin/env node
/**
 * The `snakepit-rx` command (the package's `bin`).
 *
 *   npx snakepit-rx types <module.Class> [--python-path dir]... [--out file.ts] [--check]
 */
import { parseArgs } from 'node:util';
import { isSnakepitError } from '../errors.js';
import { runTypesCommand, type CommandOutcome } from './types-command.js';

const USAGE = `Usage: snakepit-rx types <module.Class> [--python-path dir]... [--python interpreter] [--out file.ts] [--check]

Starts the adapter once and writes a TypeScript module describing its tools: an
interface named after the adapter class with "Tools" appended, for
createPool<MyAdapterTools>(...).

  --python-path dir   where the adapter's module lives (may repeat)
  --python path       the Python interpreter (default: as createPool chooses it)
  --out file.ts       write the module there (default: to stdout)
  --check             with --out: exit 1 when the file is missing or out of date
`;

function usageError(message: string): CommandOutcome {
  return { stdout: '', stderr: `snakepit-rx: ${message}\n\n${USAGE}`, exitCode: 2 };
}

/** Runs the command line `args` (without `node` and the script); never throws. */
async function main(args: readonly string[]): Promise<CommandOutcome> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h') return { stdout: USAGE, stderr: '', exitCode: 0 };
  if (command !== 'types') return usageError(`unknown command '${command}'`);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        'python-path': { type: 'string', multiple: true },
        python: { type: 'string' },
        out: { type: 'string' },
        check: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) return usageError('name one adapter class, as module.Class');
  if (values.check && values.out === undefined) return usageError('--check compares with the file given by --out');
  try {
    return await runTypesCommand({
      adapter: positionals[0] ?? '',
      pythonPath: values['python-path'] ?? [],
      python: values.python,
      out: values.out,
      check: values.check,
    });
  } catch (error) {
    const detail = isSnakepitError(error) ? `${error.message}${error.pythonTraceback ? `\n${error.pythonTraceback}` : ''}` : String(error);
    return { stdout: '', stderr: `snakepit-rx: ${detail}\n`, exitCode: 1 };
  }
}

const outcome = await main(process.argv.slice(2));
process.stdout.write(outcome.stdout);
process.stderr.write(outcome.stderr);
process.exitCode = outcome.exitCode;
