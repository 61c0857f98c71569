import { connect as tlsConnect } from 'node:tls';
import { SnakepitError } from '../errors.js';

/** What grpc-js says of a connection attempt that failed, without its wrapping. */
function reasonOf(lastError: string): string {
  const match = /Last error: (?:Error(?: \[[A-Z_]+\])?: )?([\s\S]*?)\.?\s*(?:Resolution note:[\s\S]*)?$/.exec(lastError);
  return (match?.[1] ?? lastError).trim();
}

// A TLS client's ClientHello answered in plaintext: an HTTP/2 server's settings frame read as a TLS record.
const PLAINTEXT_PEER = /wrong version number|packet length too long|unknown protocol|http request/i;
const CERTIFICATE_FAILURE = /certificate|altnames|self[- ]signed|unable to verify|unable to get (local )?issuer/i;
// Errors of the network rather than of the peer: retrying may well succeed.
const NETWORK_FAILURE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE/;
const TLS_PROBE_TIMEOUT_MS = 2_000;

function hostAndPort(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(endpoint.slice(at + 1)) };
}

/** Whether the endpoint completes a TLS handshake (its certificate unchecked): the question is only what it speaks. */
function speaksTls(endpoint: string, deadline: Date): Promise<boolean> {
  const { host, port } = hostAndPort(endpoint);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(Math.max(0, Math.min(TLS_PROBE_TIMEOUT_MS, deadline.getTime() - Date.now())), () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Why connecting to `endpoint` cannot succeed however long the pool waits, from what grpc-js says of a
 * failed attempt, or undefined when it may yet (the endpoint not listening yet, a network error). grpc-js
 * keeps retrying a handshake that fails, and says why only to a call made meanwhile: without this, a
 * certificate or a TLS setting that does not match waited for `startTimeout`, to fail as "does not answer".
 */
export async function handshakeRefusal(
  endpoint: string,
  lastError: string,
  tls: { readonly secure: boolean; readonly serverName?: string | undefined },
  deadline: Date,
): Promise<SnakepitError | undefined> {
  const reason = reasonOf(lastError);
  if (tls.secure) {
    if (PLAINTEXT_PEER.test(reason)) {
      return new SnakepitError('worker_start_failed', `endpoint ${endpoint} does not serve TLS, and the pool has \`tls\``, {
        workerId: endpoint,
        hint: 'start it with --tls-cert and --tls-key, or leave `tls` out of the pool options to connect in plaintext',
      });
    }
    if (CERTIFICATE_FAILURE.test(reason)) {
      const named = /altnames/.test(reason);
      return new SnakepitError('worker_start_failed', `endpoint ${endpoint} has a TLS certificate the pool does not accept: ${reason}`, {
        workerId: endpoint,
        hint: named
          ? `the certificate does not name ${tls.serverName ?? hostAndPort(endpoint).host}; set \`tls.serverName\` to a name it was issued for`
          : "check that `tls.ca` holds the CA that signed the certificate, and the certificate's dates",
      });
    }
    return undefined;
  }
  if (NETWORK_FAILURE.test(reason) || !(await speaksTls(endpoint, deadline))) return undefined;
  return new SnakepitError('worker_start_failed', `endpoint ${endpoint} serves TLS, and the pool connects in plaintext`, {
    workerId: endpoint,
    hint: 'give the pool `tls` (with `ca` when its certificate is not signed by a CA the system trusts)',
  });
}
