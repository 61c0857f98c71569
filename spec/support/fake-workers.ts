import { pb, type BridgeClient } from '../../lib/contract/bridge-connection.js';
import { SnakepitError } from '../../lib/errors.js';
import type { PoolEventInit } from '../../lib/public-types.js';
import { resolvePoolOptions } from '../../lib/pool/pool-options.js';
import { WorkerPool, type WorkerPoolOptions } from '../../lib/pool/worker-pool.js';
import { ExitSignal, type Worker, type WorkerExit } from '../../lib/worker/worker.js';

function notFaked(method: string): () => never {
  return () => {
    throw new Error(`FakeWorker: connection.${method} is not faked in this spec`);
  };
}

/**
 * A Worker with no process behind it, for unit specs of the pool and the
 * calls: the spec answers its health pings and cancellation checks, and
 * makes it crash.
 */
export class FakeWorker implements Worker {
  readonly pid = undefined;
  readonly lossCode = 'worker_crashed';
  /** The grace period of each `stop()`. */
  readonly stops: number[] = [];
  /** Whether `stop()` ends it at once; false: it stays until the spec ends it (an adapter's slow `cleanup()`). */
  exitsOnStop = true;
  /** How many times the pool killed it. */
  kills = 0;
  /** The pool member it was started for (`'1'`..., or an endpoint). */
  member = '';
  /** Answers the pool's health pings; resolves by default. */
  ping: () => Promise<void> = () => Promise.resolve();
  /** Answers whether a cancelled call's tool stopped within the grace period; yes by default. */
  awaitCall: (callId: string, timeoutMs: number) => Promise<boolean> = () => Promise.resolve(true);
  readonly connection: BridgeClient;
  private readonly exitSignal = new ExitSignal();

  constructor(
    readonly id: string,
    connection: Partial<BridgeClient> = {},
    /** Calls it serves at once, as an endpoint of `serve --workers N` does. */
    readonly capacity = 1,
  ) {
    this.connection = {
      ping: async () => {
        await this.ping();
        return new pb.PingResponse({ message: 'pong', worker_id: id });
      },
      awaitCall: (callId, timeoutMs) => this.awaitCall(callId, timeoutMs),
      listTools: notFaked('listTools'),
      executeTool: notFaked('executeTool'),
      streamBatches: notFaked('streamBatches'),
      callWithHostTools: notFaked('callWithHostTools'),
      ...connection,
    };
  }

  get exited(): boolean {
    return this.exitSignal.fired;
  }

  onExit(listener: (exit: WorkerExit) => void): () => void {
    return this.exitSignal.listen(listener);
  }

  stop(graceMs: number): Promise<void> {
    this.stops.push(graceMs);
    if (this.exitsOnStop) this.exitSignal.fire({ code: 0, signal: null, expected: true });
    return Promise.resolve();
  }

  kill(): void {
    this.kills += 1;
    this.exitSignal.fire({ code: null, signal: 'SIGKILL', expected: false });
  }

  /** Dies on its own, as a crashed process does. */
  crash(): void {
    this.exitSignal.fire({ code: 1, signal: null, expected: false });
  }
}

/** What a fake pool runs: WorkerPool's options, and its members said more simply. */
export interface FakePoolOptions extends Partial<Omit<WorkerPoolOptions, 'spawn' | 'emit'>> {
  /** Members `'1'` to `size` (default 1), unless `members` names them. */
  readonly size?: number;
  /** The calls each worker of a member serves at once (default 1). */
  readonly capacity?: (member: string) => number;
}

/**
 * A WorkerPool over FakeWorkers, with the options of a default pool of one
 * worker unless `options` says otherwise. `starts` decides which starts
 * fail; `workers` and `events` collect what the pool started and reported.
 */
export async function startFakePool(
  options: FakePoolOptions = {},
  starts = new StartScript(),
  workers: FakeWorker[] = [],
  events: PoolEventInit[] = [],
): Promise<FakePool> {
  const { size = 1, capacity = () => 1, ...poolOptions } = options;
  const pool = await WorkerPool.start({
    ...resolvePoolOptions({ adapter: 'fake.Adapter', size: 1 }),
    members: Array.from({ length: size }, (_, slot) => String(slot + 1)),
    requireAllAtStart: true,
    endpoints: false,
    ...poolOptions,
    spawn: async (member) => {
      await starts.next(member);
      const worker = new FakeWorker(`worker-${workers.length + 1}`, {}, capacity(member));
      worker.member = member;
      workers.push(worker);
      return worker;
    },
    emit: (event) => events.push(event),
  });
  return { pool, workers, events, starts };
}

export interface FakePool {
  readonly pool: WorkerPool;
  /** Every worker started, in order. */
  readonly workers: FakeWorker[];
  readonly events: PoolEventInit[];
  /** Makes the next starts fail. */
  readonly starts: StartScript;
}

/** Which worker starts fail: none, unless the spec says so. */
export class StartScript {
  /** Starts attempted so far, failed or not. */
  attempts = 0;
  private failures = 0;

  /** The next `count` starts fail with `worker_start_failed` (`Infinity`: every one). */
  fail(count: number): void {
    this.failures = count;
  }

  /** Members whose starts fail, whatever `fail` says: an endpoint that never answers. */
  readonly silent = new Set<string>();

  next(member: string): Promise<void> {
    this.attempts += 1;
    if (this.silent.has(member)) return Promise.reject(new SnakepitError('worker_unavailable', `${member} does not answer`));
    if (this.failures === 0) return Promise.resolve();
    this.failures -= 1;
    return Promise.reject(new SnakepitError('worker_start_failed', `member ${member} cannot start`));
  }
}
