import { lookup } from 'node:dns/promises';
import { SnakepitError } from '../errors.js';

/**
 * The `host:port` endpoints behind a DNS name, for `createPool({ endpoints })`:
 * for a Kubernetes headless Service, one per ready pod. The list is read once;
 * to follow a scaled deployment, resolve again and create a new pool.
 */
export async function resolveEndpoints(hostname: string, port: number): Promise<string[]> {
  let addresses: { address: string; family: number }[];
  try {
    addresses = await lookup(hostname, { all: true });
  } catch (error) {
    throw new SnakepitError('worker_unavailable', `cannot resolve ${hostname}: ${String(error)}`, { cause: error });
  }
  const unique = [...new Set(addresses.map(({ address, family }) => (family === 6 ? `[${address}]:${port}` : `${address}:${port}`)))];
  if (unique.length === 0) throw new SnakepitError('worker_unavailable', `${hostname} has no address`);
  return unique.sort();
}
