import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createPool } from '../snakepit-pool.js';
import { interfaceName, toolsModule } from './tools-module.js';

export interface TypesCommand {
  /** The adapter class, `module.Class` or `module:Class`. */
  readonly adapter: string;
  /** Where the adapter's module lives, added to the worker's PYTHONPATH. */
  readonly pythonPath: readonly string[];
  /** The interpreter; default: as `createPool` chooses. */
  readonly python?: string | undefined;
  /** Write here instead of to stdout. */
  readonly out?: string | undefined;
  /** Compare with `out` instead of writing it. */
  readonly check: boolean;
  /** Receives each line the worker logs (its warnings: an annotation it could not read). */
  readonly onLog: (line: string) => void;
}

/** What the command printed and its exit code. */
export interface CommandOutcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Starts the adapter once, in a pool of one worker, and reads its tools. */
async function describeAdapter(command: TypesCommand): Promise<string> {
  const pool = await createPool({
    adapter: command.adapter,
    size: 1,
    pythonPath: command.pythonPath,
    ...(command.python === undefined ? {} : { python: command.python }),
    healthCheckInterval: 0,
    onLog: command.onLog,
  });
  try {
    return await toolsModule(pool.adapter, pool.tools());
  } finally {
    await pool.close();
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `snakepit-rx types`: the adapter's tools as a TypeScript module, written, printed or checked. */
export async function runTypesCommand(command: TypesCommand): Promise<CommandOutcome> {
  const source = await describeAdapter(command);
  const { out } = command;
  if (out === undefined) return { stdout: source, stderr: '', exitCode: 0 };
  if (command.check) {
    const current = await readIfPresent(out);
    if (current === source) return { stdout: `${out} is up to date (${interfaceName(command.adapter)}).\n`, stderr: '', exitCode: 0 };
    const why = current === undefined ? 'does not exist' : `is out of date: ${command.adapter} changed since it was generated`;
    return { stdout: '', stderr: `${out} ${why}; regenerate it without --check.\n`, exitCode: 1 };
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, source);
  return { stdout: `wrote ${interfaceName(command.adapter)} to ${out}\n`, stderr: '', exitCode: 0 };
}
