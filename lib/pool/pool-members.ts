import { SnakepitError } from '../errors.js';
import type { PoolEventInit } from '../public-types.js';
import type { Worker } from '../worker/worker.js';

/** The wait before starting a member's worker again, by how many starts of it failed in a row (the last one repeats). */
const RESTART_BACKOFF_MS = [0, 100, 250, 500, 1000, 2000, 5000];

/**
 * What the pool runs one worker for: a slot of child workers (`'1'`, `'2'`...), or an endpoint
 * (`host:port`). A member outlives its workers: each one that dies or is recycled is replaced.
 */
export interface PoolMember {
  readonly name: string;
  /** Its worker while one runs. */
  readonly worker: Worker | undefined;
  /** Taken out of the pool: never started again; its worker drains. */
  readonly removed: boolean;
}

interface MemberRecord extends PoolMember {
  worker: Worker | undefined;
  removed: boolean;
  /** Calls its latest worker serves at once; 0 until one has started. */
  capacity: number;
  /** Whether a start was tried before: a later start replaces something (`worker_restarted`). */
  tried: boolean;
  /** Failed starts in a row. */
  failures: number;
  givenUp: boolean;
  /** Whether its joining was reported (`endpoint_added`), so that its leaving is too. */
  announced: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface PoolMembersOptions {
  /** Starts a member's worker; `signal` aborts when the pool closes, and a start under way gives up. */
  readonly spawn: (member: string, signal: AbortSignal) => Promise<Worker>;
  readonly maxRestartAttempts: number;
  /** Whether members are endpoints: their joining and leaving are reported. */
  readonly endpoints: boolean;
  readonly emit: (event: PoolEventInit) => void;
  /** A member's worker has started: the pool puts it in service. */
  readonly join: (worker: Worker, member: PoolMember) => void;
  /** Stops a worker started for a member that no longer wants it (removed, or the pool closed). */
  readonly discard: (worker: Worker) => void;
  /** A member was given up after `maxRestartAttempts` failed starts in a row. */
  readonly degraded: () => void;
}

/**
 * The pool's members and the starting of their workers: at once at first,
 * then again whenever one is lost, after a backoff when starts keep
 * failing, until `maxRestartAttempts` failures in a row give the member up
 * (`pool_degraded`). Members may come and go (`discover`).
 */
export class PoolMembers {
  private readonly records = new Map<string, MemberRecord>();
  private readonly pendingStarts = new Set<Promise<unknown>>();
  private closed = false;
  /** Aborted by close(): starts under way end their worker rather than make the close wait for them. */
  private readonly starting = new AbortController();
  private restartCount = 0;
  private lastStartError: SnakepitError | undefined;

  constructor(private readonly options: PoolMembersOptions) {}

  /** The calls the members' workers serve at once when all run: each member's latest worker's capacity. */
  get capacity(): number {
    let total = 0;
    for (const record of this.records.values()) if (!record.removed) total += record.capacity;
    return total;
  }

  /** The members still wanted, by name. */
  get names(): string[] {
    return [...this.records.values()].filter((record) => !record.removed).map((record) => record.name);
  }

  get restarts(): number {
    return this.restartCount;
  }

  get degraded(): boolean {
    return [...this.records.values()].some((record) => record.givenUp);
  }

  /** Why no worker can run: every member was given up (with the last start's error); undefined otherwise. */
  get exhausted(): SnakepitError | undefined {
    const wanted = [...this.records.values()].filter((record) => !record.removed);
    if (wanted.length === 0 || !wanted.every((record) => record.givenUp)) return undefined;
    return new SnakepitError('worker_start_failed', `no worker is running: ${this.lastStartError?.message ?? 'every start failed'}`, {
      cause: this.lastStartError,
    });
  }

  /**
   * Starts the first members' workers at once. Rejects with the first failure, having stopped the
   * others, when none starts, or when `all` must and one does not; those that fail otherwise keep trying.
   */
  async start(names: readonly string[], all: boolean): Promise<void> {
    const records = names.map((name) => Object.assign(this.record(name), { tried: true }));
    const results = await Promise.allSettled(records.map((record) => this.track(this.options.spawn(record.name, this.starting.signal))));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    const started = results.flatMap((result, index) => (result.status === 'fulfilled' ? [{ worker: result.value, index }] : []));
    if (started.length === 0 || (all && failures.length > 0)) {
      await Promise.all(started.map(({ worker }) => worker.stop(0)));
      throw failures[0];
    }
    for (const { worker, index } of started) this.join(records[index]!, worker);
    results.forEach((result, index) => {
      if (result.status === 'rejected') this.schedule(records[index]!, records[index]!.name, true);
    });
  }

  /** Adds a member and starts its worker; a member still draining is taken back. Returns the member. */
  add(name: string): PoolMember {
    const existing = this.records.get(name);
    if (existing !== undefined) {
      if (existing.removed) {
        existing.removed = false;
        // Removed members without a worker are dropped at once (remove, lost): this one has its worker.
        if (existing.worker !== undefined) this.announce(existing);
      }
      return existing;
    }
    const record = this.record(name);
    this.schedule(record, name, false);
    return record;
  }

  /** Takes a member out: it is not started again (`endpoint_removed` if it had joined); its worker, if any, is the pool's to drain. */
  remove(name: string): PoolMember | undefined {
    const record = this.records.get(name);
    if (record === undefined || record.removed) return undefined;
    record.removed = true;
    clearTimeout(record.timer);
    record.timer = undefined;
    if (record.announced) {
      record.announced = false;
      this.options.emit({ type: 'endpoint_removed', endpoint: name, capacity: record.capacity });
    }
    if (record.worker === undefined) this.drop(record);
    return record;
  }

  /**
   * A member's worker is gone: a removed member is forgotten; any other gets a new
   * worker, at once or (`afterFailure`, it died) after the backoff of its failed starts.
   */
  lost(member: PoolMember, replaced: string, afterFailure: boolean): void {
    const record = this.records.get(member.name);
    if (record !== member) return;
    record.worker = undefined;
    if (record.removed) this.drop(record);
    else this.schedule(record, replaced, afterFailure);
  }

  /** Stops starting workers; resolves once starts under way have settled. */
  async close(): Promise<void> {
    this.closed = true;
    for (const record of this.records.values()) clearTimeout(record.timer);
    this.starting.abort();
    await Promise.allSettled([...this.pendingStarts]);
  }

  private record(name: string): MemberRecord {
    const record: MemberRecord = {
      name,
      worker: undefined,
      removed: false,
      capacity: 0,
      tried: false,
      failures: 0,
      givenUp: false,
      announced: false,
      timer: undefined,
    };
    this.records.set(name, record);
    return record;
  }

  /** Forgets a removed member, unless a member of the same name was added since. */
  private drop(record: MemberRecord): void {
    if (this.records.get(record.name) === record) this.records.delete(record.name);
  }

  private join(record: MemberRecord, worker: Worker): void {
    record.tried = true;
    record.worker = worker;
    record.capacity = worker.capacity;
    record.failures = 0;
    this.options.join(worker, record);
    this.announce(record);
  }

  private announce(record: MemberRecord): void {
    if (!this.options.endpoints || record.announced) return;
    record.announced = true;
    this.options.emit({ type: 'endpoint_added', endpoint: record.name, capacity: record.capacity });
  }

  private schedule(record: MemberRecord, replaced: string, afterFailure: boolean): void {
    if (this.closed || record.removed) return;
    const attempt = afterFailure ? record.failures : 0;
    const delay = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)] ?? 0;
    clearTimeout(record.timer);
    record.timer = setTimeout(() => {
      record.timer = undefined;
      if (this.closed || record.removed) return;
      const replacing = record.tried;
      record.tried = true;
      this.track(this.options.spawn(record.name, this.starting.signal)).then(
        (worker) => {
          if (this.closed || record.removed) {
            this.drop(record);
            this.options.discard(worker);
            return;
          }
          if (replacing) {
            this.restartCount += 1;
            this.options.emit({ type: 'worker_restarted', workerId: worker.id, replaced, attempt: attempt + 1 });
          }
          this.join(record, worker);
        },
        (cause: unknown) => this.failed(record, replaced, attempt + 1, cause),
      );
    }, delay);
  }

  private failed(record: MemberRecord, replaced: string, attempt: number, cause: unknown): void {
    if (this.closed) return;
    if (record.removed) {
      this.drop(record);
      return;
    }
    const error = cause instanceof SnakepitError ? cause : new SnakepitError('worker_start_failed', String(cause), { cause });
    this.lastStartError = error;
    record.failures = attempt;
    this.options.emit({ type: 'worker_restart_failed', replaced, attempt, error });
    if (attempt < this.options.maxRestartAttempts) {
      this.schedule(record, replaced, true);
      return;
    }
    record.givenUp = true;
    this.options.emit({ type: 'pool_degraded', error });
    this.options.degraded();
  }

  private track<T>(start: Promise<T>): Promise<T> {
    this.pendingStarts.add(start);
    const untrack = () => this.pendingStarts.delete(start);
    start.then(untrack, untrack);
    return start;
  }
}
