/**
 * Shows a stream of progress states in the terminal: a progress bar with
 * rate and ETA when the output is a terminal, plain lines otherwise (a CI
 * log, a pipe), where redrawing a bar would only print escape codes.
 *
 *   await renderProgress(chunks$.pipe(reduceProgress({ total: 10 })), 'train');
 */
import cliProgress from 'cli-progress';
import type { Observable } from 'rxjs';
import { throttleProgress, type Progress } from 'snakepit-rx/operators';

/** A stream to write to; a terminal says so with `isTTY`. */
export type ProgressOutput = NodeJS.WritableStream & { readonly isTTY?: boolean };

export interface RenderProgressOptions {
  /** Default `process.stdout`. */
  readonly stream?: ProgressOutput;
  /** The least time between two updates, in ms. Default 100 on a terminal, 1000 otherwise. */
  readonly intervalMs?: number;
}

interface ProgressView {
  show(state: Progress<unknown>): void;
  stop(): void;
}

/** The bar is drawn from `fraction`, in thousandths, so that it needs no total. */
const BAR_SCALE = 1000;

/**
 * Renders `progress$` until it ends; resolves with the last state shown
 * (`undefined` if there was none), or rejects with the stream's error once
 * the display is closed.
 */
export function renderProgress<T>(
  progress$: Observable<Progress<T>>,
  label: string,
  options: RenderProgressOptions = {},
): Promise<Progress<T> | undefined> {
  const stream = options.stream ?? process.stdout;
  const onTerminal = stream.isTTY === true;
  const view = onTerminal ? barView(stream, label) : lineView(stream, label);
  return new Promise((resolve, reject) => {
    let last: Progress<T> | undefined;
    progress$.pipe(throttleProgress(options.intervalMs ?? (onTerminal ? 100 : 1000))).subscribe({
      next: (state) => {
        last = state;
        view.show(state);
      },
      error: (error: unknown) => {
        view.stop();
        reject(error);
      },
      complete: () => {
        view.stop();
        resolve(last);
      },
    });
  });
}

function barView(stream: ProgressOutput, label: string): ProgressView {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percent} | {count} | {rate} | {timeLeft}`,
      barsize: 30,
      // Its SIGINT handler would keep Ctrl-C from ending the process; and
      // with the cursor left visible, there is nothing to restore on exit.
      gracefulExit: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(BAR_SCALE, 0, tokens(undefined));
  return {
    show: (state) => bar.update(Math.round((state.fraction ?? 0) * BAR_SCALE), tokens(state)),
    stop: () => bar.stop(),
  };
}

function lineView(stream: ProgressOutput, label: string): ProgressView {
  return {
    show: (state) => {
      const { percent, count, rate, timeLeft } = tokens(state);
      const line = state.done
        ? `${label}: done, ${count} in ${formatDuration(state.elapsedMs)}`
        : `${label}: ${percent} | ${count} | ${rate} | ${timeLeft}`;
      stream.write(`${line}\n`);
    },
    stop: () => undefined,
  };
}

/**
 * The texts of a state's figures; `--` stands for what is not known. (Named
 * apart from cli-progress's own tokens, such as `{eta}`, which would win.)
 */
function tokens(state: Progress<unknown> | undefined) {
  return {
    percent: state?.percent === undefined ? '--%' : `${Math.floor(state.percent)}%`,
    count:
      state === undefined
        ? '0'
        : state.total === undefined
          ? formatCount(state.current)
          : `${formatCount(state.current)}/${formatCount(state.total)}`,
    rate: state?.ratePerSecond === undefined ? '--/s' : `${state.ratePerSecond.toFixed(1)}/s`,
    timeLeft: `ETA ${state?.etaMs === undefined ? '--' : formatDuration(state.etaMs)}`,
  };
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
