import { SnakepitError } from '../errors.js';
import type { PoolEventInit } from '../public-types.js';
import { lookUpEndpoints } from '../worker/resolve-endpoints.js';
import type { ResolvedDiscovery } from './pool-options.js';

/** What discovery changes: the pool's members (WorkerPool). */
export interface DiscoveredMembers {
  readonly memberNames: readonly string[];
  addMember(name: string): void;
  removeMember(name: string, drainTimeoutMs: number): void;
}

/** A lookup that has not answered by then failed: the next one gets its turn. */
const LOOKUP_TIMEOUT_MS = 10_000;

/**
 * `discover`: the endpoints behind a DNS name, followed as it changes. The
 * name is resolved every `refreshInterval`, and at once when the pool
 * loses an endpoint; addresses that appear are added to the pool (which
 * connects and checks them before any call goes there), those that
 * disappear are removed (drained). A lookup that fails, times out or finds
 * nothing changes nothing: a DNS hiccup never empties a working pool.
 */
export class EndpointDiscovery {
  private members: DiscoveredMembers | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly options: ResolvedDiscovery,
    private readonly emit: (event: PoolEventInit) => void,
  ) {}

  /** The endpoints the name resolves to now, sorted; rejects with `worker_unavailable` when there are none. */
  resolve(): Promise<string[]> {
    return lookUpEndpoints(this.options.dns, this.options.port, this.options.lookup, LOOKUP_TIMEOUT_MS);
  }

  /** Follows the name from now on, changing `members` as it changes. */
  follow(members: DiscoveredMembers): void {
    this.members = members;
    if (Number.isFinite(this.options.refreshIntervalMs)) {
      this.timer = setInterval(() => this.refreshNow(), this.options.refreshIntervalMs);
      this.timer.unref();
    }
  }

  /** Resolves the name again now, or right after the lookup under way. */
  refreshNow(): void {
    if (this.stopped || this.members === undefined) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.refresh().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.refreshNow();
      }
    });
  }

  /** Stops following the name. A lookup under way is not waited for: what it finds is dropped. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    let endpoints: string[];
    try {
      endpoints = await this.resolve();
    } catch (error) {
      if (this.stopped || this.members === undefined) return;
      const kept = this.members.memberNames.length;
      const cause = error instanceof SnakepitError ? error : new SnakepitError('worker_unavailable', String(error));
      this.emit({
        type: 'discovery_failed',
        dns: this.options.dns,
        error: new SnakepitError('worker_unavailable', `${cause.message}; the pool keeps its ${kept} endpoints`, { cause }),
      });
      return;
    }
    if (this.stopped || this.members === undefined) return;
    const current = new Set(this.members.memberNames);
    const found = new Set(endpoints);
    for (const endpoint of endpoints) if (!current.has(endpoint)) this.members.addMember(endpoint);
    for (const endpoint of current) if (!found.has(endpoint)) this.members.removeMember(endpoint, this.options.drainTimeoutMs);
  }
}
