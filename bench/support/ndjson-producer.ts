import { PythonShell } from 'python-shell';
import { onCleanup } from './cleanup.js';
import { baselineEnvironment } from './environment.js';
import { baselineDir, python } from './paths.js';
import { nowMs } from './timing.js';

/**
 * The python-shell baseline: the real package in JSON mode, reading the NDJSON
 * that bench/baseline/ndjson_producer.py prints, on Python's buffered stdout
 * (its users' default) or flushing each line. The process stays up between
 * runs so that, like the warm pool, a run does not pay for Python's start.
 */
export class NdjsonProducer {
  private onMessage: ((message: unknown) => void) | undefined;
  private failure: ((error: Error) => void) | undefined;

  private constructor(
    private readonly shell: PythonShell,
    private readonly release: () => Promise<void>,
    /** ms from spawn to the producer's first line. */
    readonly readyMs: number,
  ) {
    shell.on('message', (message: unknown) => this.onMessage?.(message));
    const fail = (error: Error) => this.failure?.(error);
    shell.on('error', fail);
    shell.on('pythonError', fail);
    shell.on('close', () => fail(new Error('the NDJSON producer exited')));
  }

  static start({ flushEachLine = false }: { flushEachLine?: boolean } = {}): Promise<NdjsonProducer> {
    const started = nowMs();
    const shell = new PythonShell(`${baselineDir}/ndjson_producer.py`, {
      mode: 'json',
      pythonPath: python,
      args: flushEachLine ? ['--flush-each-line'] : [],
      env: baselineEnvironment(),
    });
    const release = onCleanup(
      () =>
        new Promise<void>((resolve) => {
          if (shell.terminated) return resolve();
          shell.end(() => resolve());
          // end() waits for the process; a stuck one is killed.
          setTimeout(() => {
            if (!shell.terminated) shell.kill('SIGKILL');
          }, 2000).unref();
        }),
    );
    return new Promise((resolve, reject) => {
      shell.once('message', () => resolve(new NdjsonProducer(shell, release, nowMs() - started)));
      shell.once('error', reject);
      shell.once('pythonError', reject);
    });
  }

  /** Asks for `count` records and resolves with the ms from the request to the last record parsed. */
  run(count: number, onRecord: (record: unknown) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      let received = 0;
      let started = 0;
      this.failure = reject;
      this.onMessage = (message) => {
        onRecord(message);
        if (++received === count) {
          const elapsed = nowMs() - started;
          this.onMessage = undefined;
          this.failure = undefined;
          resolve(elapsed);
        }
      };
      started = nowMs();
      this.shell.send({ count });
    });
  }

  close(): Promise<void> {
    this.failure = undefined;
    return this.release();
  }
}
