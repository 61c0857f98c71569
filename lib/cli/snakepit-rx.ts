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
  -h, --help          print this help
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
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  if (values.help) return { stdout: USAGE, stderr: '', exitCode: 0 };
  if (positionals.length !== 1) return usageError('name one adapter class, as module.Class');
  if (values.check && values.out === undefined) return usageError('--check compares with the file given by --out');
  if (values.out === '') return usageError('--out needs a file name');
  // The worker's warnings are the user's to see; kept too, to tell whether it logged a traceback.
  const logged: string[] = [];
  try {
    return await runTypesCommand({
      adapter: positionals[0] ?? '',
      pythonPath: values['python-path'] ?? [],
      python: values.python,
      out: values.out,
      check: values.check,
      onLog: (line) => {
        logged.push(line);
        process.stderr.write(`${line}\n`);
      },
    });
  } catch (error) {
    return { stdout: '', stderr: `snakepit-rx: ${failure(error, logged)}\n`, exitCode: 1 };
  }
}

/**
 * What went wrong, in a line; then the Python traceback, unless the worker logged it already (as it
 * does when the adapter cannot load).
 */
function failure(error: unknown, logged: readonly string[]): string {
  if (!(error instanceof Error)) return String(error);
  const traceback = isSnakepitError(error) ? error.pythonTraceback : undefined;
  if (traceback === undefined || logged.some((line) => line.includes(traceback))) return error.message;
  return `${error.message}\n${traceback}`;
}

// A reader that stops early (`| head -1`) closes the pipe: the rest is not wanted, and is no failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') return;
  process.stderr.write(`snakepit-rx: cannot write to stdout: ${error.message}\n`);
  process.exitCode = 1;
});
// Nowhere is left to tell of a failure to write to stderr.
process.stderr.on('error', () => undefined);

const outcome = await main(process.argv.slice(2));
process.stdout.write(outcome.stdout);
process.stderr.write(outcome.stderr);
process.exitCode = outcome.exitCode;
