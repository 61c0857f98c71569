/**
 * Messages that lie about their lengths, from outside clients and from
 * workers: refused at once, before google-protobuf reads them, and nobody
 * else is held up meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeConnection, methodPath, pb, type BridgeMethod } from '../lib/contract/bridge-connection.js';
import { reportFigure } from './support/pools.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'malformed-spec-token';
/** A string field (tag 0x0a: field 1, length-delimited) claiming 2^32 - 1 bytes, in a 6-byte message. */
const LYING_REQUEST = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);

function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** Sends raw bytes to a method, as an attacker's client would; resolves with the status. */
function sendRaw(client: grpc.Client, method: BridgeMethod, bytes: Buffer, metadata: grpc.Metadata): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    const path = methodPath(method);
    const identity = (value: Buffer) => value;
    const deadline = Date.now() + 10_000;
    if (method === 'ExecuteStreamingTool' || method === 'ExecuteStreamingToolBatched') {
      const call = client.makeServerStreamRequest(path, identity, identity, bytes, metadata, { deadline });
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', resolve);
    } else {
      const call = client.makeUnaryRequest(path, identity, identity, bytes, metadata, { deadline }, () => undefined);
      call.on('status', resolve);
    }
  });
}

describe('a bridge server receiving lying lengths', () => {
  let host: ChildProcess;
  let address: string;

  beforeAll(async () => {
    // In another process, so that a frozen server cannot freeze this spec's own timers.
    host = spawn(process.execPath, ['--import', 'tsx', 'spec/fixtures/bridge-host.ts', TOKEN], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: host.stdout! }), 'line')) as [string];
    ({ address } = JSON.parse(line) as { address: string });
  });
  afterAll(async () => {
    const exited = once(host, 'exit');
    host.stdin?.end();
    // A frozen host cannot close its pool: kill it, and its workers see their stdin close.
    const killer = setTimeout(() => host.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  });

  it.each([
    ['without a token: UNAUTHENTICATED', new grpc.Metadata(), grpc.status.UNAUTHENTICATED],
    ['with the token: INVALID_ARGUMENT', bearer(TOKEN), grpc.status.INVALID_ARGUMENT],
  ])('refuses a 6-byte request claiming 4 GiB %s at once, on every method, while another client is served', async (_, metadata, code) => {
    const attacker = new grpc.Client(address, grpc.credentials.createInsecure());
    const honest = new pb.BridgeServiceClient(address, grpc.credentials.createInsecure());
    try {
      const methods: BridgeMethod[] = [
        'Ping',
        'ListTools',
        'ExecuteTool',
        'ExecuteStreamingTool',
        'ExecuteStreamingToolBatched',
        'AwaitCall',
      ];
      const started = performance.now();
      const attacks = Promise.all(methods.map((method) => sendRaw(attacker, method, LYING_REQUEST, metadata)));
      // Honest calls made while the lying ones are in flight must each be answered within their deadline.
      for (let round = 0; round < 5; round += 1) {
        const pong = await new Promise<InstanceType<typeof pb.PingResponse>>((resolve, reject) =>
          honest.Ping(new pb.PingRequest(), bearer(TOKEN), { deadline: Date.now() + 1_000 }, (error, response) =>
            error ? reject(error) : resolve(response!),
          ),
        );
        expect(pong.message).toBe('pong');
      }
      const statuses = await attacks;
      const elapsed = performance.now() - started;
      expect(statuses.map((status) => status.code)).toEqual(methods.map(() => code));
      expect(elapsed).toBeLessThan(5_000);
      reportFigure(`6-byte lying requests on 6 methods ${_.split(':')[0]} to refusal`, elapsed, 'ms');
    } finally {
      attacker.close();
      honest.close();
    }
  });
});

describe('a pool receiving lying lengths from a worker', () => {
  let server: grpc.Server;
  let connection: BridgeConnection;

  beforeAll(async () => {
    // A "worker" that answers every call with the lying message.
    server = new grpc.Server();
    const identity = (value: Buffer) => value;
    const unary = (_: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, LYING_REQUEST);
    const stream = (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      call.write(LYING_REQUEST);
      call.end();
    };
    const definition = (method: BridgeMethod, responseStream: boolean) => ({
      path: methodPath(method),
      requestStream: false,
      responseStream,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    });
    server.addService(
      {
        Ping: definition('Ping', false),
        ExecuteTool: definition('ExecuteTool', false),
        ExecuteStreamingToolBatched: definition('ExecuteStreamingToolBatched', true),
      },
      { Ping: unary, ExecuteTool: unary, ExecuteStreamingToolBatched: stream },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    connection = new BridgeConnection(`127.0.0.1:${port}`, { maxMessageBytes: 1024 * 1024 });
  });
  afterAll(() => {
    connection.close();
    server.forceShutdown();
  });

  it('fails a ping, a unary call and a stream at once instead of decoding them', async () => {
    const started = performance.now();
    await expect(connection.ping(new Date(Date.now() + 5_000))).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    const request = new pb.ExecuteToolRequest({ tool_name: 't', call_id: 'c' });
    const unary = await new Promise<grpc.ServiceError | null>((resolve) => connection.executeTool(request, {}, (error) => resolve(error)));
    expect(unary?.code).toBe(grpc.status.INTERNAL);
    const stream = connection.streamBatches(request, {});
    stream.on('data', () => undefined);
    const [error] = (await once(stream, 'error')) as [grpc.ServiceError];
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
