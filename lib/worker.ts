import type { BridgeConnection } from './contract/bridge-client.js';

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
  readonly connection: BridgeConnection;
  /** Process id of a local worker; undefined for a remote one. */
  readonly pid: number | undefined;
  readonly exited: boolean;
  /** The error code of a call that loses this worker midway. */
  readonly lossCode: 'worker_crashed' | 'worker_unavailable';
  /** Calls back once when the worker is gone; returns a function that stops listening. */
  onExit(listener: (exit: WorkerExit) => void): () => void;
  /** Asks the worker to stop, and makes sure it has after `graceMs`. */
  stop(graceMs: number): Promise<void>;
  /** Ends the worker at once, as a crash would; the pool then replaces it. */
  kill(): void;
}
