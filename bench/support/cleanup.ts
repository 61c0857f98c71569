/**
 * Everything the benchmark starts registers how to stop it here, so that a
 * failing workload or Ctrl-C still leaves no Python process behind.
 */
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();

/** Registers `cleanup`; the returned function runs it now and forgets it. */
export function onCleanup(cleanup: Cleanup): () => Promise<void> {
  cleanups.add(cleanup);
  return async () => {
    if (!cleanups.delete(cleanup)) return;
    await cleanup();
  };
}

let running: Promise<void> | undefined;

/**
 * Runs every registered cleanup, newest first, each even when another fails.
 * A second caller (the signal handler while the run unwinds) waits for the
 * same pass instead of exiting before it is done.
 */
export function cleanUpAll(): Promise<void> {
  running ??= (async () => {
    for (;;) {
      const cleanup = [...cleanups].pop();
      if (cleanup === undefined) break;
      cleanups.delete(cleanup);
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`bench: cleanup failed: ${String(error)}\n`);
      }
    }
  })().finally(() => (running = undefined));
  return running;
}

let signalled = false;

/** True once SIGINT/SIGTERM arrived: the run is being torn down and its partial results are not to be kept. */
export function interrupted(): boolean {
  return signalled;
}

/** On SIGINT/SIGTERM: clean up, then exit with the conventional code. */
export function cleanUpOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (signalled) return;
      signalled = true;
      void cleanUpAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
