import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specTempDir } from './temp-files.js';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** A certificate and its key, as PEM files and as their contents. */
export interface Certificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface Certificates {
  readonly dir: string;
  readonly ca: Certificate;
  /** Another CA, which signed nothing the pool trusts. */
  readonly otherCa: Certificate;
  /** localhost and 127.0.0.1, signed by `ca`. */
  readonly server: Certificate;
  /** Signed by `ca`, valid a day ago for a day. */
  readonly expired: Certificate;
  /** Signed by `ca`, valid from tomorrow. */
  readonly notYetValid: Certificate;
  /** Signed by `ca`, for `otherhost.example` only. */
  readonly otherHost: Certificate;
  /** localhost and 127.0.0.1, signed by `otherCa`. */
  readonly wrongCa: Certificate;
  /** A client certificate signed by `ca`. */
  readonly client: Certificate;
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd });
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr.toString()}`);
}

function opensslTime(offsetDays: number): string {
  // YYYYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` takes it.
  return `${new Date(Date.now() + offsetDays * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function read(dir: string, name: string): Certificate {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/**
 * A CA and certificates it signed, good and bad, made by openssl (Node's crypto can sign but not build an
 * X.509 certificate). `openssl ca` rather than `x509 -days`, which cannot date a certificate in the past.
 */
export function makeCertificates(): Certificates {
  const dir = specTempDir('certs-');
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const caExtensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      ['req', '-x509', ...newKey, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=spec ${ca}`, ...caExtensions],
      dir,
    );
  }
  const leaf = (name: string, san: string, from: number, to: number, ca = 'ca') => {
    openssl(['req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    writeFileSync(join(dir, 'index'), '');
    writeFileSync(join(dir, 'serial'), `${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}\n`);
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = signing',
        '[signing]',
        'database = index',
        'serial = serial',
        'new_certs_dir = .',
        'default_md = sha256',
        'policy = any',
        '[any]',
        'commonName = supplied',
        '[leaf]',
        `subjectAltName = ${san}`,
        'basicConstraints = CA:FALSE',
        '',
      ].join('\n'),
    );
    openssl(
      [
        'ca',
        '-batch',
        '-notext',
        '-config',
        'ca.cnf',
        '-cert',
        `${ca}.pem`,
        '-keyfile',
        `${ca}.key`,
        '-in',
        `${name}.csr`,
        '-out',
        `${name}.pem`,
        '-extensions',
        'leaf',
        '-startdate',
        opensslTime(from),
        '-enddate',
        opensslTime(to),
      ],
      dir,
    );
    return read(dir, name);
  };
  const local = 'DNS:localhost,IP:127.0.0.1';
  return {
    dir,
    ca: read(dir, 'ca'),
    otherCa: read(dir, 'other-ca'),
    server: leaf('server', local, -1, 1),
    expired: leaf('expired', local, -2, -1),
    notYetValid: leaf('not-yet-valid', local, 1, 2),
    otherHost: leaf('other-host', 'DNS:otherhost.example', -1, 1),
    wrongCa: leaf('wrong-ca', local, -1, 1, 'other-ca'),
    client: leaf('client', 'DNS:client', -1, 1),
  };
}
