import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type PoolOptions, type SnakepitPool } from '../lib/index.js';
import { hasOpenssl, makeCertificates, type Certificate, type Certificates } from './support/certificates.js';
import { rejectionOf } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

const TOKEN = 'tls-spec-token';
// Far above what a refused handshake takes: a failure that waits for it has hung until the deadline.
const START_TIMEOUT = 10_000;
const FAST = 3_000;

describe.skipIf(!hasOpenssl)('remote workers over TLS (pool → serve --tls-cert/--tls-key)', () => {
  let certificates: Certificates;
  const started: StandaloneWorker[] = [];
  const pools: SnakepitPool[] = [];

  beforeAll(() => {
    certificates = makeCertificates();
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    await Promise.all(started.splice(0).map((served) => served.stop()));
  });

  async function serve(certificate?: Certificate): Promise<StandaloneWorker> {
    const tlsArgs = certificate ? ['--tls-cert', certificate.certPath, '--tls-key', certificate.keyPath] : [];
    const served = await serveWorker({ token: TOKEN, extraArgs: tlsArgs });
    started.push(served);
    return served;
  }

  async function connect(endpoint: string, tls: PoolOptions['tls']): Promise<SnakepitPool> {
    const pool = await createPool({
      adapter: 'test_adapter.TestAdapter',
      endpoints: [endpoint],
      token: TOKEN,
      tls,
      startTimeout: START_TIMEOUT,
    });
    pools.push(pool);
    return pool;
  }

  async function refusal(endpoint: string, tls: PoolOptions['tls']) {
    const began = Date.now();
    const error = await rejectionOf(connect(endpoint, tls));
    return { error, ms: Date.now() - began };
  }

  it('connects to a server whose certificate the CA signed, by IP and by name', async () => {
    const served = await serve(certificates.server);
    const byIp = await connect(served.endpoint, { ca: certificates.ca.cert });
    await expect(byIp.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    const byName = await connect(`localhost:${served.port}`, { ca: certificates.ca.cert });
    await expect(byName.execute('add', { a: 2, b: 2 })).resolves.toBe(4);
  });

  it.each([
    ['signed by another CA', 'wrongCa', /unable to verify|certificate/],
    ['expired', 'expired', /certificate has expired/],
    ['not yet valid', 'notYetValid', /certificate is not yet valid/],
    ['for another host name', 'otherHost', /does not match/],
  ] as const)('refuses at once, with the reason, a server certificate %s', async (_, which, reason) => {
    const served = await serve(certificates[which]);
    const { error, ms } = await refusal(served.endpoint, { ca: certificates.ca.cert });
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(reason);
    expect(error.message).toContain(served.endpoint);
    expect(error.message).not.toContain(TOKEN);
    expect(ms).toBeLessThan(FAST);
  });

  it('checks a certificate for another name against `serverName`, and refuses it when `serverName` names another', async () => {
    const served = await serve(certificates.otherHost);
    const pool = await connect(served.endpoint, { ca: certificates.ca.cert, serverName: 'otherhost.example' });
    await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    const wrong = await serve(certificates.server);
    const { error, ms } = await refusal(wrong.endpoint, { ca: certificates.ca.cert, serverName: 'otherhost.example' });
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(/otherhost\.example/);
    expect(ms).toBeLessThan(FAST);
  });

  it('refuses at once a plaintext server when the pool has `tls`, saying so', async () => {
    const served = await serve();
    const { error, ms } = await refusal(served.endpoint, { ca: certificates.ca.cert });
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(/does not serve TLS/);
    expect(error.hint).toMatch(/--tls-cert/);
    expect(ms).toBeLessThan(FAST);
  });

  it('refuses at once a TLS server when the pool has no `tls`, saying so', async () => {
    const served = await serve(certificates.server);
    const { error, ms } = await refusal(served.endpoint, undefined);
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(/serves TLS/);
    expect(error.hint).toMatch(/`tls`/);
    expect(ms).toBeLessThan(FAST);
  });

  describe('with --tls-client-ca (mutual TLS)', () => {
    async function serveMutual(): Promise<StandaloneWorker> {
      const { server, ca } = certificates;
      const served = await serveWorker({
        token: TOKEN,
        extraArgs: ['--tls-cert', server.certPath, '--tls-key', server.keyPath, '--tls-client-ca', ca.certPath],
      });
      started.push(served);
      return served;
    }

    it('serves a pool whose client certificate the CA signed', async () => {
      const served = await serveMutual();
      const { ca, client } = certificates;
      const pool = await connect(served.endpoint, { ca: ca.cert, cert: client.cert, key: client.key });
      await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    });

    it.each([
      ['without a client certificate', () => ({ ca: certificates.ca.cert })],
      [
        'whose client certificate another CA signed',
        () => ({ ca: certificates.ca.cert, cert: certificates.wrongCa.cert, key: certificates.wrongCa.key }),
      ],
    ])('refuses at once a pool %s, saying the endpoint refused its certificate', async (_, tls) => {
      const served = await serveMutual();
      const { error, ms } = await refusal(served.endpoint, tls());
      expect(error.code).toBe('worker_start_failed');
      expect(error.message).toMatch(/refused the pool's client certificate/);
      expect(error.hint).toMatch(/tls\.cert/);
      expect(ms).toBeLessThan(FAST);
    });
  });

  it('still waits for an endpoint that does not listen yet, as before (startTimeout)', async () => {
    const served = await serve();
    const endpoint = served.endpoint;
    await served.stop();
    started.splice(0);
    const { error } = await refusal(endpoint, { ca: certificates.ca.cert });
    expect(error.code).toBe('worker_unavailable');
  }, 20_000);
});

describe('TLS options of createPool', () => {
  let certificates: Certificates | undefined;
  beforeAll(() => {
    if (hasOpenssl) certificates = makeCertificates();
  });
  afterAll(() => undefined);

  it.each([
    ['a `ca` that is not PEM', () => ({ ca: 'not a certificate' }), /`tls.ca`/],
    ['a `cert` without its `key`', () => ({ cert: certificates?.client.cert ?? 'x' }), /`tls.cert` and `tls.key`/],
    ['a `key` without its `cert`', () => ({ key: certificates?.client.key ?? 'x' }), /`tls.cert` and `tls.key`/],
    ['a `key` that is not PEM', () => ({ cert: certificates?.client.cert ?? 'x', key: 'not a key' }), /`tls.key`/],
  ] as const)('refuses %s with invalid_arguments', async (_, tls, message) => {
    const error = await rejectionOf(
      createPool({ adapter: 'test_adapter.TestAdapter', endpoints: ['127.0.0.1:1'], tls: tls(), startTimeout: START_TIMEOUT }),
    );
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(message);
  });
});
