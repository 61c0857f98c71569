/**
 * A test pool served to outside clients, for the specs of one describe block:
 * started before its first spec, closed after its last. The values are read
 * through getters, which hold once the block's specs run.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll } from 'vitest';
import { pb } from '../../lib/contract/bridge-connection.js';
import { createBridgeServer, createHttpHandler, type BridgeServer, type PoolOptions, type SnakepitPool } from '../../lib/index.js';
import { serve, type TestServer } from './http.js';
import { startTestPool } from './pools.js';

export type BridgeClient = InstanceType<typeof pb.BridgeServiceClient>;

function readWhenStarted<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is started in beforeAll: read it in a spec`);
  return value;
}

/** A pool of one worker behind a bridge server, and a plain gRPC client of it. */
export function poolBehindBridgeServer(options: Partial<PoolOptions> = {}): { readonly pool: SnakepitPool; readonly client: BridgeClient } {
  let pool: SnakepitPool | undefined;
  let server: BridgeServer | undefined;
  let client: BridgeClient | undefined;
  beforeAll(async () => {
    ({ pool } = await startTestPool({ ...options, size: 1 }));
    server = await createBridgeServer(pool);
    client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await pool?.close();
  });
  return {
    get pool() {
      return readWhenStarted(pool, 'the pool');
    },
    get client() {
      return readWhenStarted(client, 'the bridge client');
    },
  };
}

/** A pool of one worker behind the HTTP handler (every tool exposed), served on a local port. */
export function poolBehindHttpHandler(options: Partial<PoolOptions> = {}): { readonly pool: SnakepitPool; readonly baseUrl: string } {
  let pool: SnakepitPool | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    ({ pool } = await startTestPool({ ...options, size: 1 }));
    server = await serve(createHttpHandler(pool, { tools: '*' }));
  });
  afterAll(async () => {
    await server?.close();
    await pool?.close();
  });
  return {
    get pool() {
      return readWhenStarted(pool, 'the pool');
    },
    get baseUrl() {
      return readWhenStarted(server, 'the HTTP server').baseUrl;
    },
  };
}
