/**
 * The environment every Python side of the benchmark runs in: the users'
 * default, whatever the shell that started the benchmark set. This machine
 * sets PYTHONUNBUFFERED=1, for one, which makes every `print` two `write()`
 * calls: the python-shell baseline would run slower than its users see it.
 */

/** Variables that change how fast Python runs, none of which a user's process would normally have. */
export const PYTHON_SPEED_VARIABLES = [
  'PYTHONUNBUFFERED',
  // Without bytecode written, every start compiles the modules that have none yet.
  'PYTHONDONTWRITEBYTECODE',
  'PYTHONDEVMODE',
  'PYTHONMALLOC',
  'PYTHONMALLOCSTATS',
  'PYTHONTRACEMALLOC',
  'PYTHONASYNCIODEBUG',
  'PYTHONPROFILEIMPORTTIME',
  'PYTHONVERBOSE',
  'PYTHONDEBUG',
  'PYTHONINSPECT',
  'PYTHONOPTIMIZE',
] as const;

export interface ControlledEnvironment {
  /** The variables removed, with the values the shell had given them. */
  readonly removed: Readonly<Record<string, string>>;
}

/**
 * Removes the speed-changing variables from this process's environment, so
 * that every process the benchmark starts (baselines and the pool's workers
 * alike) inherits the users' default. Call once, before anything starts.
 */
export function controlEnvironment(): ControlledEnvironment {
  const removed: Record<string, string> = {};
  for (const name of PYTHON_SPEED_VARIABLES) {
    const value = process.env[name];
    if (value === undefined) continue;
    removed[name] = value;
    delete process.env[name];
  }
  return { removed };
}

/** The environment of a baseline process: this process's, controlled as above, plus `extra`. */
export function baselineEnvironment(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of PYTHON_SPEED_VARIABLES) {
    if (!(name in extra)) delete environment[name];
  }
  return environment;
}
