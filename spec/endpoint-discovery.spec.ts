/**
 * EndpointDiscovery on a fake lookup, fake members and fake timers: what
 * it adds and removes as the answers change, and what it keeps when the
 * lookup fails. The same with real `serve` endpoints: spec/discovery.spec.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EndpointDiscovery, type DiscoveredMembers } from '../lib/pool/endpoint-discovery.js';
import { resolvePoolOptions, type ResolvedDiscovery } from '../lib/pool/pool-options.js';
import type { DiscoveredAddress, PoolEventInit } from '../lib/public-types.js';

/** A lookup whose answers a spec sets; it counts its calls, and may fail or never answer. */
class FakeLookup {
  answer: readonly DiscoveredAddress[] | Error | 'never' = [];
  calls = 0;
  readonly lookup = (): Promise<readonly DiscoveredAddress[]> => {
    this.calls += 1;
    const { answer } = this;
    if (answer === 'never') return new Promise(() => {});
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };

  addresses(...addresses: string[]): void {
    this.answer = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }
}

/** Members as the pool keeps them, with what discovery did to them. */
class FakeMembers implements DiscoveredMembers {
  readonly removed: { name: string; drainTimeoutMs: number }[] = [];
  constructor(public memberNames: string[]) {}

  addMember(name: string): void {
    this.memberNames = [...this.memberNames, name];
  }

  removeMember(name: string, drainTimeoutMs: number): void {
    this.memberNames = this.memberNames.filter((member) => member !== name);
    this.removed.push({ name, drainTimeoutMs });
  }
}

function options(lookup: FakeLookup, discover: { refreshInterval?: number; drainTimeout?: number } = {}): ResolvedDiscovery {
  const resolved = resolvePoolOptions({
    adapter: 'a.A',
    discover: { dns: 'workers.test', port: 50051, lookup: lookup.lookup, ...discover },
  });
  return resolved.discover!;
}

let discovery: EndpointDiscovery | undefined;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  discovery?.stop();
  discovery = undefined;
  vi.useRealTimers();
});

describe('EndpointDiscovery', () => {
  it('resolves the name to its endpoints, once each and sorted, IPv6 in brackets', async () => {
    const lookup = new FakeLookup();
    lookup.addresses('10.0.0.2', '10.0.0.1', 'fd00::1', '10.0.0.1');
    discovery = new EndpointDiscovery(options(lookup), () => {});
    await expect(discovery.resolve()).resolves.toEqual(['10.0.0.1:50051', '10.0.0.2:50051', '[fd00::1]:50051']);
  });

  it('refuses a name that does not resolve, resolves to nothing, to what is not an address, or does not answer', async () => {
    const lookup = new FakeLookup();
    discovery = new EndpointDiscovery(options(lookup), () => {});
    lookup.answer = new Error('getaddrinfo ENOTFOUND workers.test');
    await expect(discovery.resolve()).rejects.toMatchObject({ code: 'worker_unavailable', message: expect.stringContaining('ENOTFOUND') });
    lookup.answer = [];
    await expect(discovery.resolve()).rejects.toMatchObject({ code: 'worker_unavailable', message: 'workers.test resolves to no address' });
    lookup.answer = [{ address: 'not an address', family: 4 }];
    await expect(discovery.resolve()).rejects.toMatchObject({ code: 'worker_unavailable' });
    lookup.answer = 'never';
    const answer = discovery.resolve();
    const outcome = expect(answer).rejects.toMatchObject({ code: 'worker_unavailable', message: expect.stringContaining('no answer') });
    await vi.advanceTimersByTimeAsync(10_000);
    await outcome;
  });

  it('adds the endpoints that appear and removes those that disappear, every refreshInterval', async () => {
    const lookup = new FakeLookup();
    const members = new FakeMembers(['10.0.0.1:50051']);
    discovery = new EndpointDiscovery(options(lookup, { refreshInterval: 1_000, drainTimeout: 5_000 }), () => {});
    discovery.follow(members);

    lookup.addresses('10.0.0.1', '10.0.0.2', '10.0.0.3');
    await vi.advanceTimersByTimeAsync(999);
    expect(members.memberNames).toEqual(['10.0.0.1:50051']);
    await vi.advanceTimersByTimeAsync(1);
    expect(members.memberNames).toEqual(['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051']);

    lookup.addresses('10.0.0.3');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(members.memberNames).toEqual(['10.0.0.3:50051']);
    expect(members.removed).toEqual([
      { name: '10.0.0.1:50051', drainTimeoutMs: 5_000 },
      { name: '10.0.0.2:50051', drainTimeoutMs: 5_000 },
    ]);
  });

  it('keeps every endpoint when the lookup fails or finds nothing, and says so', async () => {
    const lookup = new FakeLookup();
    const members = new FakeMembers(['10.0.0.1:50051', '10.0.0.2:50051']);
    const events: PoolEventInit[] = [];
    discovery = new EndpointDiscovery(options(lookup, { refreshInterval: 1_000 }), (event) => events.push(event));
    discovery.follow(members);

    lookup.answer = new Error('SERVFAIL');
    await vi.advanceTimersByTimeAsync(1_000);
    lookup.answer = [];
    await vi.advanceTimersByTimeAsync(1_000);

    expect(members.memberNames).toEqual(['10.0.0.1:50051', '10.0.0.2:50051']);
    expect(members.removed).toEqual([]);
    expect(events).toEqual([
      {
        type: 'discovery_failed',
        dns: 'workers.test',
        error: expect.objectContaining({
          code: 'worker_unavailable',
          message: expect.stringMatching(/SERVFAIL; the pool keeps its 2 endpoints/),
        }),
      },
      {
        type: 'discovery_failed',
        dns: 'workers.test',
        error: expect.objectContaining({ message: 'workers.test resolves to no address; the pool keeps its 2 endpoints' }),
      },
    ]);
  });

  it('resolves again at once when asked (an endpoint failed), one lookup at a time, and once more after one under way', async () => {
    const lookup = new FakeLookup();
    lookup.addresses('10.0.0.1');
    const members = new FakeMembers(['10.0.0.1:50051']);
    discovery = new EndpointDiscovery(options(lookup, { refreshInterval: 60_000 }), () => {});
    discovery.follow(members);

    discovery.refreshNow();
    discovery.refreshNow();
    discovery.refreshNow();
    expect(lookup.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(lookup.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(lookup.calls).toBe(2);
  });

  it('stops resolving once stopped', async () => {
    const lookup = new FakeLookup();
    lookup.addresses('10.0.0.1');
    discovery = new EndpointDiscovery(options(lookup, { refreshInterval: 1_000 }), () => {});
    discovery.follow(new FakeMembers([]));
    discovery.stop();
    discovery.refreshNow();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lookup.calls).toBe(0);
  });
});
