/**
 * Where a stream stands, as {@link reduceProgress} computes it from one chunk
 * and those before it.
 *
 * A quantity that cannot be known is `undefined`: no field is ever `NaN` or
 * infinite, so a display can print what is there and skip the rest.
 */
export interface Progress<T = unknown> {
  /**
   * Steps done: read from the payload (`step`, `epoch`, ...), or the number
   * of chunks so far when the payload says nothing.
   */
  readonly current: number;
  /** Steps in all, when the payload or `options.total` tells it. */
  readonly total: number | undefined;
  /** Share of the work done, from 0 to 1; `1` once `done`. */
  readonly fraction: number | undefined;
  /** `fraction` as a percentage, from 0 to 100. */
  readonly percent: number | undefined;
  /** Scheduler time since subscription. */
  readonly elapsedMs: number;
  /** Smoothed steps per second. */
  readonly ratePerSecond: number | undefined;
  /** Smoothed estimate of the time left; `0` once `done`. */
  readonly etaMs: number | undefined;
  /** True on the state computed from the final chunk. */
  readonly done: boolean;
  /**
   * The payload of the latest chunk that carried one. A synthetic final chunk
   * carries none, so it leaves the previous payload here rather than `null`:
   * `progress.last?.loss` stays safe to read up to the end.
   */
  readonly last: T | undefined;
}

/**
 * What one payload says about progress; any field may be missing.
 * {@link reduceProgress} fills the gaps: a missing `total` keeps the last one
 * known, a missing `current` is `fraction × total` or else one more step.
 */
export interface ProgressReading {
  /** Steps done so far (not a delta). */
  readonly current?: number | undefined;
  /** Steps in all. Ignored unless positive. */
  readonly total?: number | undefined;
  /** Share done, from 0 to 1; clamped into that range. */
  readonly fraction?: number | undefined;
}

/**
 * The default reader of {@link reduceProgress}: understands the payload shapes
 * of the streaming guide, and returns `undefined` for anything else.
 *
 * | payload                                   | reading                                      |
 * | ----------------------------------------- | -------------------------------------------- |
 * | `{ type: "complete" }`, `{ status: "complete" }` | `{ fraction: 1 }`                     |
 * | `{ step, total?, progress? }`             | `current = step` (steps done, counted from 1) |
 * | `{ epoch, epochs? }`                      | `current = epoch`, `total = epochs`          |
 * | `{ rows, total }`                         | `current = total`: there `total` is the running count of rows sent, and the size of the whole comes from `options.total` |
 * | `{ progress }`                            | `fraction = progress / 100` (a percentage)   |
 *
 * Exported so that a custom `select` can handle its own shapes and hand the
 * rest to this one.
 */
export function readProgress(data: unknown): ProgressReading | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const record = data as Readonly<Record<string, unknown>>;
  if (record['type'] === 'complete' || record['status'] === 'complete') return { fraction: 1 };
  const percent = finiteNumber(record['progress']);
  const fraction = percent === undefined ? undefined : percent / 100;
  const step = finiteNumber(record['step']);
  if (step !== undefined) return { current: step, total: finiteNumber(record['total']), fraction };
  const epoch = finiteNumber(record['epoch']);
  if (epoch !== undefined) return { current: epoch, total: finiteNumber(record['epochs']) };
  const sent = finiteNumber(record['total']);
  if (finiteNumber(record['rows']) !== undefined && sent !== undefined) return { current: sent };
  if (fraction !== undefined) return { fraction };
  return undefined;
}

function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
