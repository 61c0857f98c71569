import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';

/** PEM certificates and key, as `createPool({ tls })` and `createBridgeServer({ tls })` take them. */
export interface TlsMaterial {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function caProblem(ca: string | Buffer): string | undefined {
  // grpc-js and OpenSSL skip what they cannot read in a CA bundle: a bad `ca` would then fail every
  // handshake later, as an unverifiable peer, instead of now.
  const blocks = Buffer.from(ca).toString('latin1').match(PEM_CERTIFICATE);
  if (blocks === null) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      return `holds a certificate that does not parse (${(error as Error).message})`;
    }
  }
  return undefined;
}

/**
 * Why `material` cannot make TLS credentials, naming the option at fault (`<prefix>.ca`, ...), or undefined.
 * grpc-js would throw a bare Error for half a key pair, and only at the first handshake for a bad CA; a
 * server's bad key would show as "cannot listen".
 */
export function tlsMaterialProblem(prefix: string, material: TlsMaterial): string | undefined {
  const { ca, cert, key } = material;
  if (ca !== undefined) {
    const problem = caProblem(ca);
    if (problem !== undefined) return `\`${prefix}.ca\` ${problem}`;
  }
  if ((cert === undefined) !== (key === undefined)) return `\`${prefix}.cert\` and \`${prefix}.key\` go together`;
  if (cert === undefined || key === undefined) return undefined;
  let leaf: X509Certificate;
  try {
    createSecureContext({ cert });
    leaf = new X509Certificate(cert);
  } catch (error) {
    return `\`${prefix}.cert\` is not a PEM certificate chain (${(error as Error).message})`;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    return `\`${prefix}.key\` is not a PEM private key (${(error as Error).message})`;
  }
  // Checked here: OpenSSL keeps a key of another type than the certificate's beside it, without complaint.
  if (!leaf.checkPrivateKey(privateKey)) return `\`${prefix}.key\` is not the key of \`${prefix}.cert\``;
  return undefined;
}
