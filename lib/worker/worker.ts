import type { BridgeClient } from '../contract/bridge-connection.js';

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** False when the worker went away on its own rather than because `stop()` asked it to. */
  readonly expected: boolean;
}

/**
 * What the pool needs of a worker, wherever it runs: a child process of
 * this pool, or a server something else started (`endpoints`).
 */
export interface Worker {
  readonly id: string;
  readonly connection: BridgeClient;
  /** Process id of a local worker, the process that serves calls (under its supervisor on Linux); undefined for a remote one. */
  readonly pid: number | undefined;
  readonly exited: boolean;
  /** The error code of a call that loses this worker midway. */
  readonly lossCode: 'worker_crashed' | 'worker_unavailable';
  /**
   * How many calls it serves at once: 1 for a worker process; for an endpoint, what its Ping answered
   * (`serve --workers N` runs each call in a process of its own).
   */
  readonly capacity: number;
  /** Calls back once when the worker is gone; returns a function that stops listening. */
  onExit(listener: (exit: WorkerExit) => void): () => void;
  /** Asks the worker to stop, and makes sure it has after `graceMs`. */
  stop(graceMs: number): Promise<void>;
  /** Ends the worker at once, as a crash would; the pool then replaces it. */
  kill(): void;
}

/**
 * A worker's exit, told once to whoever listens. Unlike a promise's `then`,
 * a listener can be removed: calls listen while they run, and a long-lived
 * worker must not collect one reaction per call it ever served.
 */
export class ExitSignal {
  private exit: WorkerExit | undefined;
  private readonly listeners = new Set<(exit: WorkerExit) => void>();

  get fired(): boolean {
    return this.exit !== undefined;
  }

  /** Calls back once the worker is gone (at once if it is); returns a function that stops listening. */
  listen(listener: (exit: WorkerExit) => void): () => void {
    if (this.exit !== undefined) {
      listener(this.exit);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  fire(exit: WorkerExit): void {
    if (this.exit !== undefined) return;
    this.exit = exit;
    for (const listener of this.listeners) listener(exit);
    this.listeners.clear();
  }
}
