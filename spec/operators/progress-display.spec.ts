import { Writable } from 'node:stream';
import { concat, concatMap, from, map, of, throwError, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { renderProgress } from '../../examples/progress-display.js';
import { progressState } from './chunk-fixtures.js';

/** A stream that keeps what is written to it; a terminal when `isTTY`. */
class CapturedOutput extends Writable {
  text = '';
  readonly columns = 100;

  constructor(readonly isTTY: boolean) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const working = progressState<unknown>({
  current: 1,
  total: 4,
  fraction: 0.25,
  percent: 25,
  ratePerSecond: 2,
  etaMs: 1500,
  elapsedMs: 500,
});
const done = progressState<unknown>({
  current: 4,
  total: 4,
  fraction: 1,
  percent: 100,
  ratePerSecond: 2,
  etaMs: 0,
  elapsedMs: 2000,
  done: true,
});

describe('renderProgress (examples/progress-display.ts)', () => {
  describe('on a stream that is not a terminal', () => {
    it('should print a line per state, and the done state with the time taken', async () => {
      const output = new CapturedOutput(false);

      const last = await renderProgress(of(working, done), 'train', { stream: output });

      expect(output.text).toBe('train: 25% | 1/4 | 2.0/s | ETA 1.5s\ntrain: done, 4/4 in 2.0s\n');
      expect(last).toBe(done);
    });

    it('should print -- for what is unknown, and ETAs in minutes and hours', async () => {
      const output = new CapturedOutput(false);
      const states = from([
        progressState({ current: 3 }),
        progressState({ current: 2.5, total: 10, percent: 25, etaMs: 125_000 }),
        progressState({ current: 2.75, total: 10, percent: 27.5, etaMs: 3_900_000 }),
      ]).pipe(concatMap((state) => timer(2).pipe(map(() => state))));

      await renderProgress(states, 'rows', { stream: output, intervalMs: 0 });

      expect(output.text).toBe(
        'rows: --% | 3 | --/s | ETA --\n' + 'rows: 25% | 2.5/10 | --/s | ETA 2m05s\n' + 'rows: 27% | 2.8/10 | --/s | ETA 1h05m\n',
      );
    });

    it('should reject with the error of the stream, after the states before it', async () => {
      const output = new CapturedOutput(false);
      const failure = new Error('worker died');

      await expect(
        renderProgress(
          concat(
            of(working),
            throwError(() => failure),
          ),
          'train',
          { stream: output },
        ),
      ).rejects.toBe(failure);
      expect(output.text).toBe('train: 25% | 1/4 | 2.0/s | ETA 1.5s\n');
    });

    it('should resolve with undefined for a stream without states', async () => {
      const output = new CapturedOutput(false);

      await expect(renderProgress(of(), 'idle', { stream: output })).resolves.toBeUndefined();
      expect(output.text).toBe('');
    });
  });

  describe('on a terminal', () => {
    it('should draw a bar with rate and ETA, full once done, and end the line', async () => {
      const output = new CapturedOutput(true);

      await renderProgress(of(working, done), 'train', { stream: output });

      expect(output.text).toContain('train [');
      expect(output.text).toContain('--% | 0 | --/s | ETA --');
      expect(output.text).toContain(`${'\u2588'.repeat(30)}] 100% | 4/4 | 2.0/s | ETA 0.0s`);
      expect(output.text.endsWith('\n')).toBe(true);
    });

    it('should close the bar when the stream fails', async () => {
      const output = new CapturedOutput(true);
      const failure = new Error('worker died');

      await expect(
        renderProgress(
          concat(
            of(working),
            throwError(() => failure),
          ),
          'train',
          { stream: output },
        ),
      ).rejects.toBe(failure);
      expect(output.text).toContain('25% | 1/4 | 2.0/s | ETA 1.5s');
      expect(output.text.endsWith('\n')).toBe(true);
    });
  });
});
