/**
 * How far Node reads ahead of a paused consumer: one message, set on the
 * grpc-js stream's internal state, which the call checks and fails loudly
 * about if Node or grpc-js keep it elsewhere now.
 */
import { EventEmitter } from 'node:events';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BridgeConnection, pb, type ChunkBatch } from '../lib/contract/bridge-connection.js';
import type { SnakepitError } from '../lib/errors.js';
import type { Chunk } from '../lib/index.js';
import { FakeWorker } from './support/fake-workers.js';
import { markerPath, producedCount, valueOnceStable, withPool } from './support/pools.js';

afterEach(() => vi.restoreAllMocks());

describe('read-ahead of a streaming call', () => {
  it('is one message on a real call, however far the worker could run ahead', async () => {
    const streamBatches = vi.spyOn(BridgeConnection.prototype, 'streamBatches');
    await withPool({}, async (pool) => {
      const total = 20_000;
      const progress = markerPath();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const done = pool.executeStream('produce', { n: total, size: 4096, progress }, async (chunk: Chunk) => {
        if (chunk.index === 0) await released;
      });
      // The worker stops once the buffers between it and the held callback are full.
      expect(await valueOnceStable(() => producedCount(progress), 200)).toBeLessThan(total);
      const stream = streamBatches.mock.results[0]?.value as ClientReadableStream<ChunkBatch> | undefined;
      expect(stream?.readableHighWaterMark).toBe(1);
      expect(stream?.readableLength).toBeLessThanOrEqual(1);
      release();
      await done;
    });
  });

  it('fails the call with transport_error, the stream cancelled, when the mark cannot be set', async () => {
    // A fresh module: the check runs until a first stream has passed it.
    vi.resetModules();
    const { StreamCall } = await import('../lib/call/stream-call.js');
    // A stream that keeps its high-water mark somewhere this library does not know.
    const stream = Object.assign(new EventEmitter(), { readableHighWaterMark: 16, cancel: vi.fn(), pause() {}, resume() {} });
    const worker = new FakeWorker('fake-1', { streamBatches: () => stream as unknown as ClientReadableStream<ChunkBatch> });
    const errors: SnakepitError[] = [];
    const call = new StreamCall(
      worker,
      new pb.ExecuteToolRequest({ tool_name: 'count', call_id: 'c-1' }),
      { next: () => {}, received: () => {}, error: (error) => errors.push(error), complete: () => {}, workerDone: () => {} },
      {},
    );

    call.start();

    expect(errors).toEqual([expect.objectContaining({ code: 'transport_error', tool: 'count', workerId: 'fake-1' })]);
    expect(errors[0]?.message).toContain('_readableState.highWaterMark');
    expect(stream.cancel).toHaveBeenCalledOnce();
  });
});
