/**
 * One client of a bridge server cannot starve the others: each client has
 * at most perClientConcurrency calls in the pool and perClientQueue waiting,
 * the clients take turns, and callTimeout bounds every call whatever
 * deadline its client asked for.
 */
import * as grpc from '@grpc/grpc-js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import { createBridgeServer, type BridgeServer, type BridgeServerOptions, type SnakepitPool } from '../lib/index.js';
import { markerEvents, markerPath, reportFigure, startTestPool, waitUntil } from './support/pools.js';

type Client = InstanceType<typeof pb.BridgeServiceClient>;

function request(tool: string, args: unknown): InstanceType<typeof pb.ExecuteToolRequest> {
  return new pb.ExecuteToolRequest({ tool_name: tool, arguments: Buffer.from(JSON.stringify(args)) });
}

/** A client on a connection of its own: grpc-js shares connections between clients of one address unless told not to. */
function connect(server: BridgeServer): Client {
  return new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

function add(client: Client, deadlineMs: number, metadata = new grpc.Metadata()): Promise<{ error: grpc.ServiceError | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) =>
    client.ExecuteTool(request('add', { a: 1, b: 2 }), metadata, { deadline: Date.now() + deadlineMs }, (error) =>
      resolve({ error, ms: performance.now() - started }),
    ),
  );
}

/** Opens `count` streams and never reads them; resolves with each one's status code as it ends. */
function unreadStreams(client: Client, count: number, tool: string, args: unknown, metadata = new grpc.Metadata()) {
  const calls = Array.from({ length: count }, () => client.ExecuteStreamingTool(request(tool, args), metadata));
  const statuses = calls.map(
    (call) => new Promise<grpc.status>((resolve) => call.on('status', (status: grpc.StatusObject) => resolve(status.code))),
  );
  // No 'data' listener: the streams stay paused, as a client that does not read leaves them.
  for (const call of calls) call.on('error', () => undefined);
  return { calls, statuses, cancel: () => calls.forEach((call) => call.cancel()) };
}

/** Collects garbage now: the flag lets a new context see `gc`, as `--expose-gc` would. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** What the process holds now, after collecting garbage: its JavaScript heap and its buffers. */
function heldBytes(): number {
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe('a bridge server with one greedy client', () => {
  let pool: SnakepitPool;
  let server: BridgeServer | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 2 }));
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server?.close();
    server = undefined;
    await waitUntil(() => pool.stats().idle === 2, 15_000, 'the workers to be back');
  });
  afterAll(() => pool.close());

  async function serve(options: BridgeServerOptions = {}): Promise<[Client, Client]> {
    server = await createBridgeServer(pool, options);
    const pair: [Client, Client] = [connect(server), connect(server)];
    clients.push(...pair);
    return pair;
  }

  it("1,000 unread streams from one client: another client's unary calls meet their 5 s deadline; past perClientQueue the greedy client is refused", async () => {
    const [greedy, other] = await serve();
    const flood = unreadStreams(greedy, 1_000, 'count', { n: 200 });
    let refused = 0;
    for (const status of flood.statuses) void status.then((code) => (refused += code === grpc.status.RESOURCE_EXHAUSTED ? 1 : 0));
    // Past its 2 calls in the pool and 100 waiting, the greedy client is refused at once.
    await waitUntil(() => refused === 898, 10_000, '898 refusals');
    const latencies: number[] = [];
    for (let call = 0; call < 20; call += 1) {
      const { error, ms } = await add(other, 5_000);
      expect(error).toBeNull();
      latencies.push(ms);
    }
    expect(refused).toBe(898);
    flood.cancel();
    reportFigure('unary call of one client beside 1,000 unread streams of another, worst of 20', Math.max(...latencies), 'ms');
  }, 60_000);

  it('with perClientConcurrency below the pool size, streams a client holds open forever leave workers for the others', async () => {
    const [greedy, other] = await serve({ perClientConcurrency: 1 });
    const marker = markerPath();
    const flood = unreadStreams(greedy, 50, 'ticker', { marker });
    await waitUntil(() => markerEvents(marker).includes('started'), 10_000, 'a greedy stream to start');
    for (let call = 0; call < 5; call += 1) expect((await add(other, 5_000)).error).toBeNull();
    // Only one of the greedy client's streams reached the pool.
    expect(markerEvents(marker)).toEqual(['started']);
    flood.cancel();
  });

  it('forgets a call that gives up while waiting its turn, and its arguments with it', async () => {
    const [client] = await serve({ perClientConcurrency: 1 });
    const marker = markerPath();
    const holder = unreadStreams(client, 1, 'ticker', { marker });
    await waitUntil(() => markerEvents(marker).includes('started'), 10_000, 'the stream holding the slot to start');
    const before = heldBytes();
    const megabyte = 'x'.repeat(1024 * 1024);
    const giveUp = () =>
      new Promise<grpc.status | undefined>((resolve) =>
        client.ExecuteTool(request('echo', { value: megabyte }), new grpc.Metadata(), { deadline: Date.now() + 300 }, (error) =>
          resolve(error?.code),
        ),
      );

    const codes = await Promise.all(Array.from({ length: 64 }, giveUp));

    expect(new Set(codes)).toEqual(new Set([grpc.status.DEADLINE_EXCEEDED]));
    // 64 MiB of arguments were received; none of it may stay once the server has seen the calls end.
    await vi.waitFor(() => expect(heldBytes() - before).toBeLessThan(16 * 1024 * 1024), { timeout: 5_000, interval: 100 });
    holder.cancel();
  });

  it('holds at most maxWaitingBytes of waiting requests, whatever the number of connections: past it a call gets RESOURCE_EXHAUSTED', async () => {
    const mebibyte = 1024 * 1024;
    const [first, second] = await serve({ perClientConcurrency: 1, maxWaitingBytes: 4 * mebibyte });
    const marker = markerPath();
    const holders = [unreadStreams(first, 1, 'ticker', { marker }), unreadStreams(second, 1, 'ticker', { marker })];
    await waitUntil(() => markerEvents(marker).filter((event) => event === 'started').length === 2, 10_000, 'both slots to be held');
    const value = 'x'.repeat(1.5 * mebibyte);
    const echo = (client: Client) =>
      new Promise<grpc.status | undefined>((resolve) =>
        client.ExecuteTool(request('echo', { value }), new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (error) =>
          resolve(error?.code),
        ),
      );

    // Two requests of 1.5 MiB wait (3 MiB); whichever comes third would make 4.5 MiB.
    const calls = [echo(first), echo(second), echo(second)];
    expect(await Promise.race(calls)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    for (const holder of holders) holder.cancel();
    const codes = await Promise.all(calls);
    expect(codes.filter((code) => code === undefined)).toHaveLength(2);
  });

  it("clientId tells clients apart by metadata: one tenant's backlog does not hold up another's on the same connection", async () => {
    const [client] = await serve({
      perClientConcurrency: 1,
      perClientQueue: 1,
      clientId: (call) => String(call.metadata.get('x-tenant')[0]),
    });
    const tenant = (name: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('x-tenant', name);
      return metadata;
    };
    const marker = markerPath();
    const flood = unreadStreams(client, 5, 'ticker', { marker }, tenant('a'));
    // Tenant a: one in the pool, one waiting, three refused.
    const codes = await Promise.all(flood.statuses.slice(2));
    expect(codes).toEqual([grpc.status.RESOURCE_EXHAUSTED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.RESOURCE_EXHAUSTED]);
    expect((await add(client, 5_000, tenant('b'))).error).toBeNull();
    flood.cancel();
  });

  it('callTimeout is a ceiling: a client asking for an hour gets callTimeout, and the generator is closed', async () => {
    const [client] = await serve({ callTimeout: 300 });
    const marker = markerPath();
    const started = performance.now();
    const code = await new Promise<grpc.status>((resolve) => {
      const call = client.ExecuteStreamingTool(request('ticker', { marker }), new grpc.Metadata(), { deadline: Date.now() + 3_600_000 });
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (status: grpc.StatusObject) => resolve(status.code));
    });
    expect(code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(5_000);
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
  });

  it('refuses bad fairness options', async () => {
    for (const options of [{ perClientConcurrency: 0 }, { perClientQueue: -1 }, { perClientConcurrency: 1.5 }, { clientId: 'peer' }]) {
      await expect(createBridgeServer(pool, options as BridgeServerOptions)).rejects.toMatchObject({ code: 'invalid_arguments' });
    }
  });
});
