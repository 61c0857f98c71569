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

/**
 * The `host:port` endpoints behind a DNS name, for `createPool({ endpoints })`:
 * for a Kubernetes headless Service, one per ready pod. The list is read
 * once; `createPool({ discover: { dns, port } })` follows a scaled
 * Deployment instead, adding and draining endpoints as the name changes.
 */
export async function resolveEndpoints(hostname: string, port: number): Promise<string[]> {
  let addresses: { address: string; family: number }[];
  try {
    addresses = await lookup(hostname, { all: true });
  } catch (error) {
    throw new SnakepitError('worker_unavailable', `cannot resolve ${hostname}: ${String(error)}`, { cause: error });
  }
  const unique = endpointsOf(addresses, port);
  if (unique.length === 0) throw new SnakepitError('worker_unavailable', `${hostname} has no address`);
  return unique;
}
