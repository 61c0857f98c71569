import { isIP } from 'node:net';
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
const CLIENT_CERTIFICATE_ALERT =
  /alert (certificate required|unknown ca|bad certificate|certificate unknown|certificate expired|handshake failure|access denied)/;
const NETWORK_FAILURE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE/;
const TLS_PROBE_TIMEOUT_MS = 2_000;

/** The pool's TLS options, as `createPool({ tls })` has them. */
export interface ClientTls {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly serverName?: string | undefined;
}

function hostAndPort(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(endpoint.slice(at + 1)) };
}

function probeTimeout(deadline: Date): number {
  return Math.max(0, Math.min(TLS_PROBE_TIMEOUT_MS, deadline.getTime() - Date.now()));
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
    socket.setTimeout(probeTimeout(deadline), () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// An HTTP/2 client's first bytes: its preface and an empty SETTINGS frame, which a server answers with its own.
const HTTP2_OPENING = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/**
 * How the endpoint refused the pool's client certificate, or undefined when it did not. In TLS 1.3 the
 * server checks it once the client's side of the handshake is over, and grpcio then closes the connection,
 * without an alert at times: grpc-js says only "Failed to connect". A server that answers HTTP/2 accepted it.
 */
function clientCertificateRefusal(endpoint: string, tls: ClientTls, deadline: Date): Promise<string | undefined> {
  const { host, port } = hostAndPort(endpoint);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: tls.serverName ?? (isIP(host) === 0 ? host : undefined),
      // Only the server's verdict on the client is asked here; the client's on the server is grpc-js's.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    let handshaken = false;
    const done = (refusal: string | undefined) => {
      socket.destroy();
      resolve(refusal);
    };
    socket.setTimeout(probeTimeout(deadline), () => done(undefined));
    socket.once('secureConnect', () => {
      handshaken = true;
      socket.write(HTTP2_OPENING);
    });
    socket.once('data', () => done(undefined));
    socket.once('error', (error: Error) => done(CLIENT_CERTIFICATE_ALERT.exec(error.message)?.[0]));
    socket.once('close', () => done(handshaken ? 'it closed the connection once the handshake was over' : undefined));
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
  tls: ClientTls | undefined,
  deadline: Date,
): Promise<SnakepitError | undefined> {
  const reason = reasonOf(lastError);
  if (tls !== undefined) {
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
    const refusal = NETWORK_FAILURE.test(reason) ? undefined : await clientCertificateRefusal(endpoint, tls, deadline);
    if (refusal === undefined) return undefined;
    return new SnakepitError('worker_start_failed', `endpoint ${endpoint} refused the pool's client certificate: ${refusal}`, {
      workerId: endpoint,
      hint:
        tls.cert === undefined
          ? 'it asks for mutual TLS: give the pool `tls.cert` and `tls.key`, signed by a CA it trusts (serve --tls-client-ca)'
          : 'give the pool `tls.cert` and `tls.key` signed by a CA the endpoint trusts (serve --tls-client-ca), and valid now',
    });
  }
  if (NETWORK_FAILURE.test(reason) || !(await speaksTls(endpoint, deadline))) return undefined;
  return new SnakepitError('worker_start_failed', `endpoint ${endpoint} serves TLS, and the pool connects in plaintext`, {
    workerId: endpoint,
    hint: 'give the pool `tls` (with `ca` when its certificate is not signed by a CA the system trusts)',
  });
}
