import { asyncScheduler, defer, map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { isSyntheticFinal, type Chunk } from '../chunk.js';
import { readProgress, type Progress, type ProgressReading } from './progress.js';

/** Options of {@link reduceProgress}. */
export interface ReduceProgressOptions<T> {
  /**
   * Steps in all, for payloads that do not carry it: typically an argument
   * given to the tool, such as `epochs`. A total read from a payload wins.
   */
  readonly total?: number;
  /**
   * Reads a payload in place of {@link readProgress}. Return `undefined` for a
   * payload that says nothing: it counts as one step. Not called for a
   * synthetic final chunk, which has no payload. What it throws is sent to the
   * subscriber as an error, as `map` does.
   */
  readonly select?: (data: T, chunk: Chunk<T>) => ProgressReading | undefined;
  /**
   * Half-life, in ms, of the smoothing of rate and ETA: a change of pace shows
   * half-way after this long. Default 5000; `0` turns smoothing off.
   */
  readonly halfLife?: number;
  /** @deprecated Renamed `halfLife` (durations are in ms without saying so, as in Node); still accepted. */
  readonly halfLifeMs?: number;
  /** The clock of `elapsedMs`, rate and ETA. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

const DEFAULT_HALF_LIFE = 5_000;

/**
 * Turns each chunk into a {@link Progress} state: steps done, total, share
 * done, rate, ETA.
 *
 * ```
 * source:  --a--------b--------c--------Z|
 *          reduceProgress()
 * output:  --p--------q--------r--------D|
 *
 * a = { step: 1, total: 4 } … c = { step: 3, total: 4 }, Z: the final chunk
 * p = { current: 1, total: 4, fraction: 0.25, etaMs: …, done: false, … }
 * D = { current: 4, total: 4, fraction: 1, etaMs: 0, done: true, … }
 * ```
 *
 * Payloads are read by `options.select`, or else by {@link readProgress},
 * which knows the shapes of the streaming guide (`{ step, total }`,
 * `{ epoch, epochs }`, `{ progress }` as a percentage, ...). A payload that
 * cannot be read never makes it throw: it counts as one step, so a stream of
 * unknown payloads is counted chunk by chunk.
 *
 * The final chunk yields `done: true`, `fraction: 1` and `etaMs: 0`: the tool
 * has finished, whatever the count said. A synthetic final chunk (the pool's
 * marker when the tool set none) has no payload: it yields that done state
 * without counting a step and keeps the previous payload in `last`. A source
 * that completes without a final chunk (cancelled, or cut by `take`) yields no
 * done state.
 *
 * Rate and ETA are smoothed by an exponential moving average whose weight
 * depends on the time elapsed between samples (`halfLife`), not on their
 * number. The pool delivers chunks in bursts (several chunks of one gRPC
 * batch arrive at the same instant): a per-sample average, or a window of the
 * last N samples, would let one burst swamp the estimate, whereas a
 * time-weighted one gives a burst the weight of the time it took. It keeps
 * O(1) state, and progress that arrives with no time elapsed is carried into
 * the next sample instead of being read as an infinite rate. The ETA is the
 * remaining share divided by the smoothed speed of `fraction`.
 *
 * Time comes from `options.scheduler`, so `TestScheduler.run` drives it.
 *
 * @example
 * ```ts
 * chunks$.pipe(reduceProgress({ total: 10 }), throttleProgress(100))
 *   .subscribe((p) => console.log(`${p.current}/${p.total} ETA ${p.etaMs ?? '?'} ms`));
 * ```
 */
export function reduceProgress<T>(options: ReduceProgressOptions<T> = {}): OperatorFunction<Chunk<T>, Progress<T>> {
  const { total: givenTotal, select, scheduler = asyncScheduler } = options;
  if (options.halfLife !== undefined && options.halfLifeMs !== undefined) {
    throw new TypeError('reduceProgress: give options.halfLife or its deprecated alias halfLifeMs, not both');
  }
  const halfLife = options.halfLife ?? options.halfLifeMs ?? DEFAULT_HALF_LIFE;
  if (givenTotal !== undefined && positive(givenTotal) === undefined) {
    throw new TypeError(`reduceProgress: options.total must be a positive finite number, got ${String(givenTotal)}`);
  }
  if (!(Number.isFinite(halfLife) && halfLife >= 0)) {
    throw new TypeError(`reduceProgress: options.halfLife must be a finite number >= 0, got ${String(halfLife)}`);
  }
  const read = select ?? readProgress;

  return (source) =>
    defer(() => {
      const startedAt = scheduler.now();
      const stepRate = new SmoothedRate(halfLife, startedAt);
      const fractionRate = new SmoothedRate(halfLife, startedAt);
      let current = 0;
      let total = givenTotal;
      let fraction: number | undefined;
      let last: T | undefined;

      return source.pipe(
        map((chunk): Progress<T> => {
          const now = scheduler.now();
          if (!isSyntheticFinal(chunk)) {
            const reading = read(chunk.data, chunk);
            total = positive(reading?.total) ?? total;
            const readFraction = clampToUnit(finite(reading?.fraction));
            current = finite(reading?.current) ?? (readFraction !== undefined && total !== undefined ? readFraction * total : current + 1);
            fraction = readFraction ?? (total === undefined ? undefined : clampToUnit(current / total));
            last = chunk.data;
            stepRate.sample(current, now);
            if (fraction !== undefined) fractionRate.sample(fraction, now);
          }
          const done = chunk.isFinal;
          const shownFraction = done ? 1 : fraction;
          return {
            current,
            total,
            fraction: shownFraction,
            percent: shownFraction === undefined ? undefined : shownFraction * 100,
            elapsedMs: now - startedAt,
            ratePerSecond: finite(stepRate.perMs === undefined ? undefined : stepRate.perMs * 1000),
            etaMs: done ? 0 : estimateRemainingMs(fraction, fractionRate.perMs),
            done,
            last,
          };
        }),
      );
    });
}

/**
 * Rate of change of a quantity, as an exponential moving average of the rates
 * between successive samples, each weighted by `1 - 2^(-Δt / halfLife)`.
 */
class SmoothedRate {
  readonly #halfLifeMs: number;
  #perMs: number | undefined;
  #baseTime: number;
  #baseValue = 0;

  constructor(halfLifeMs: number, startedAt: number) {
    this.#halfLifeMs = halfLifeMs;
    this.#baseTime = startedAt;
  }

  get perMs(): number | undefined {
    return this.#perMs;
  }

  sample(value: number, now: number): void {
    const elapsed = now - this.#baseTime;
    // Samples taken at the same instant keep the base, so the progress they
    // add is measured over the next interval that has a duration.
    if (elapsed <= 0) return;
    const instant = (value - this.#baseValue) / elapsed;
    const weight = this.#halfLifeMs === 0 ? 1 : 1 - 2 ** (-elapsed / this.#halfLifeMs);
    this.#perMs = this.#perMs === undefined ? instant : this.#perMs + weight * (instant - this.#perMs);
    this.#baseTime = now;
    this.#baseValue = value;
  }
}

function estimateRemainingMs(fraction: number | undefined, fractionPerMs: number | undefined): number | undefined {
  if (fraction === undefined) return undefined;
  if (fraction >= 1) return 0;
  if (fractionPerMs === undefined || fractionPerMs <= 0) return undefined;
  return finite((1 - fraction) / fractionPerMs);
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

function clampToUnit(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.min(1, Math.max(0, value));
}
