import { lookup } from 'node:dns/promises';
import { SnakepitError } from '../errors.js';

/**
 * The `host:port` endpoints of the addresses a name resolved to, once each, sorted
 * (IPv6 in brackets). Throws when an entry is not an address, as a lookup of another shape would give.
 */
export function endpointsOf(addresses: readonly { readonly address: string; readonly family: number }[], port: number): string[] {
  if (!Array.isArray(addresses)) throw new TypeError(`the lookup gave ${typeof addresses}, not an array of addresses`);
  const endpoints = addresses.map((entry: unknown) => {
    const { address, family } = (entry ?? {}) as { address?: unknown; family?: unknown };
    if (typeof address !== 'string' || address === '' || /[\s/[\]]/.test(address)) {
      throw new TypeError(`the lookup gave ${JSON.stringify(entry)}, not an address`);
    }
    return family === 6 || address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  });
  return [...new Set(endpoints)].sort();
}

/** A lookup shaped as `dns.promises.lookup` with `{ all: true }`. */
export type AddressLookup = (hostname: string, options: { all: true }) => Promise<readonly { address: string; family: number }[]>;

/**
 * The endpoints a lookup of `hostname` gives, sorted; rejects with `worker_unavailable` when the lookup
 * fails, does not answer within `timeoutMs`, or gives no address.
 */
export async function lookUpEndpoints(hostname: string, port: number, lookUp: AddressLookup, timeoutMs = Infinity): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (Number.isFinite(timeoutMs)) timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let endpoints: string[];
  try {
    endpoints = endpointsOf(await Promise.race([lookUp(hostname, { all: true }), timeout]), port);
  } catch (error) {
    throw new SnakepitError('worker_unavailable', `cannot resolve ${hostname}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
  if (endpoints.length === 0) throw new SnakepitError('worker_unavailable', `${hostname} resolves to no address`);
  return endpoints;
}

/**
 * The `host:port` endpoints behind a DNS name, for `createPool({ endpoints })`:
 * for a Kubernetes headless Service, one per ready pod. The list is read
 * once; `createPool({ discover: { dns, port } })` follows a scaled
 * Deployment instead, adding and draining endpoints as the name changes.
 */
export function resolveEndpoints(hostname: string, port: number): Promise<string[]> {
  return lookUpEndpoints(hostname, port, (name, options) => lookup(name, options));
}
