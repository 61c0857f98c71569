/**
 * The streaming guide's examples, run for real: every Python snippet of the
 * guide (examples/adapters/) on a live worker, through the TypeScript
 * consumers in examples/.
 */
import { Writable } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, isSyntheticFinal, type Chunk, type SnakepitPool } from 'snakepit-rx';
import { processItems } from '../examples/basic-stream.js';
import { logChunks, sendToConsumer } from '../examples/callbacks.js';
import { cancelInfiniteStream } from '../examples/cancellation.js';
import { runMayFail } from '../examples/error-handling.js';
import { MLClient } from '../examples/ml-client.js';
import { adapters, examplePoolOptions } from '../examples/shared.js';
import { showTraining } from '../examples/train-with-progress.js';
import { trainModel } from '../examples/training-progress.js';

const pools: Partial<Record<keyof typeof adapters, SnakepitPool>> = {};

function pool(name: keyof typeof adapters): SnakepitPool {
  const started = pools[name];
  if (started === undefined) throw new Error(`the ${name} pool did not start`);
  return started;
}

beforeAll(async () => {
  const names = Object.keys(adapters) as (keyof typeof adapters)[];
  const results = await Promise.allSettled(names.map((name) => createPool(examplePoolOptions(adapters[name]))));
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') pools[names[i]!] = result.value;
  });
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
});

afterAll(async () => {
  await Promise.all(Object.values(pools).map((started) => started.close()));
});

function streamAll<T>(on: SnakepitPool, tool: string, args?: Record<string, unknown>): Promise<Chunk<T>[]> {
  return lastValueFrom(on.stream<T>(tool, args).pipe(toArray()));
}

/** Collects what an example prints, in place of the console. */
function printed(): { lines: string[]; print: (line: string) => void } {
  const lines: string[] = [];
  return { lines, print: (line) => lines.push(line) };
}

function expectFinalMetadata(chunk: Chunk<unknown> | undefined): void {
  expect(chunk?.isFinal).toBe(true);
  expect(chunk?.metadata).toMatchObject({
    execution_time_ms: expect.stringMatching(/^\d+$/),
    tool_type: 'remote',
    worker_id: 'worker-1',
  });
}

function expectSyntheticFinal(chunk: Chunk<unknown> | undefined, index: number): void {
  expectFinalMetadata(chunk);
  expect(chunk).toMatchObject({ data: null, index, metadata: { synthetic_final: 'true' } });
}

describe('MyAdapter.stream_progress (Enabling Streaming)', () => {
  it('yields one chunk per step with its percentage, then a synthetic final chunk', async () => {
    const chunks = await streamAll<unknown>(pool('my'), 'stream_progress', { steps: 4 });

    expect(chunks.slice(0, 4).map((chunk) => chunk.data)).toEqual([
      { step: 1, total: 4, progress: 25 },
      { step: 2, total: 4, progress: 50 },
      { step: 3, total: 4, progress: 75 },
      { step: 4, total: 4, progress: 100 },
    ]);
    expect(chunks.slice(0, 4).every((chunk) => !chunk.isFinal)).toBe(true);
    expectSyntheticFinal(chunks[4], 4);
    expect(chunks).toHaveLength(5);
  });

  it('callback style "logging": prints every chunk, the synthetic final included, in order', async () => {
    const { lines, print } = printed();

    const logged = await logChunks(pool('my'), 3, print);

    expect(logged).toEqual(lines);
    expect(lines).toHaveLength(4);
    lines.slice(0, 3).forEach((line, i) => expect(line).toContain(`step: ${i + 1}, total: 3`));
    expect(lines[3]).toContain("synthetic_final: 'true'");
  });

  it('callback style "sending to another process": a consumer subscribed to a Subject gets every step', async () => {
    const { lines, print } = printed();

    const steps = await sendToConsumer(pool('my'), 2, print);

    expect(steps).toEqual([
      { step: 1, total: 2, progress: 50 },
      { step: 2, total: 2, progress: 100 },
    ]);
    expect(lines).toEqual(['consumer: step 1/2 (50%)', 'consumer: step 2/2 (100%)']);
  });

  it('callback style "sending to another process": a failed stream reaches the consumer as an error', async () => {
    // GuideAdapter has no stream_progress.
    await expect(sendToConsumer(pool('guide'), 2, () => {})).rejects.toMatchObject({
      name: 'SnakepitError',
      code: 'tool_not_found',
    });
  });
});

describe("GuideAdapter (the guide's bare-method snippets)", () => {
  it('registers every snippet as a streaming tool', () => {
    const tools = pool('guide').tools();

    expect(tools.map((info) => info.name).sort()).toEqual([
      'generate_dataset',
      'my_streaming_tool',
      'stream_items',
      'stream_numbers',
      'train_model',
    ]);
    expect(tools.every((info) => info.supportsStreaming)).toBe(true);
  });

  it('stream_numbers: each yield is a chunk; the stream ends with a synthetic final chunk', async () => {
    const chunks = await streamAll<unknown>(pool('guide'), 'stream_numbers', { count: 3 });

    expect(chunks.slice(0, 3)).toEqual([
      { data: { number: 0, is_last: false }, isFinal: false, index: 0, chunkId: expect.stringMatching(/-0$/), metadata: {} },
      { data: { number: 1, is_last: false }, isFinal: false, index: 1, chunkId: expect.stringMatching(/-1$/), metadata: {} },
      { data: { number: 2, is_last: true }, isFinal: false, index: 2, chunkId: expect.stringMatching(/-2$/), metadata: {} },
    ]);
    expectSyntheticFinal(chunks[3], 3);
    expect(chunks).toHaveLength(4);
  });

  it('stream_items: StreamChunk marks the last item final, so no synthetic final is added', async () => {
    const chunks = await streamAll<unknown>(pool('guide'), 'stream_items', { count: 3 });

    expect(chunks.map((chunk) => chunk.data)).toEqual([
      { index: 1, value: 'Item 1' },
      { index: 2, value: 'Item 2' },
      { index: 3, value: 'Item 3' },
    ]);
    expect(chunks.map((chunk) => chunk.isFinal)).toEqual([false, false, true]);
    expectFinalMetadata(chunks[2]);
    expect(chunks.some(isSyntheticFinal)).toBe(false);
  });

  it('generate_dataset: batches of chunk_size rows of 10 floats, with running totals, the last one final', async () => {
    type Batch = { rows: number; total: number; data: number[][] };

    const chunks = await streamAll<Batch>(pool('guide'), 'generate_dataset', { rows: 25, chunk_size: 10 });

    expect(chunks.map(({ data }) => [data.rows, data.total])).toEqual([
      [10, 10],
      [10, 20],
      [5, 25],
    ]);
    for (const { data } of chunks) {
      expect(data.data).toHaveLength(data.rows);
      for (const row of data.data) {
        expect(row).toHaveLength(10);
        expect(row.every(Number.isFinite)).toBe(true);
      }
    }
    expect(chunks.map((chunk) => chunk.isFinal)).toEqual([false, false, true]);
    expect(chunks.some(isSyntheticFinal)).toBe(false);
  });

  it('train_model (Training Progress): one progress update per epoch, then complete', async () => {
    const { lines, print } = printed();

    const report = await trainModel(pool('guide'), 3, print);

    expect(report.progress.map(({ type, epoch, loss }) => ({ type, epoch, loss }))).toEqual([
      { type: 'progress', epoch: 1, loss: 1 },
      { type: 'progress', epoch: 2, loss: 0.5 },
      { type: 'progress', epoch: 3, loss: 1 / 3 },
    ]);
    report.progress.forEach(({ accuracy }, i) => expect(accuracy).toBeCloseTo(0.5 + i * 0.05, 10));
    expect(report.complete).toEqual({ type: 'complete', final_loss: 1 / 3, final_accuracy: expect.closeTo(0.6, 10) });
    expect(lines).toEqual(['Epoch 1: loss=1', 'Epoch 2: loss=0.5', `Epoch 3: loss=${1 / 3}`, 'Training complete!']);
  });

  it('my_streaming_tool (Server-Side Streaming): ten steps for the given param, then a synthetic final', async () => {
    const chunks = await streamAll<unknown>(pool('guide'), 'my_streaming_tool', { param: 'data.csv' });

    expect(chunks.slice(0, 10).map((chunk) => chunk.data)).toEqual(
      Array.from({ length: 10 }, (_, step) => ({ step, result: 'Processing data.csv' })),
    );
    expectSyntheticFinal(chunks[10], 10);
    expect(chunks).toHaveLength(11);
  });
});

describe("ConsumerAdapter (tools written for the guide's Elixir consumers)", () => {
  it('process_items (Basic Example): the callback receives one chunk per item in order, then the final', async () => {
    const { lines, print } = printed();

    const chunks = await processItems(pool('consumer'), ['a', 2, { k: true }], print);

    expect(chunks.slice(0, 3).map((chunk) => chunk.data)).toEqual([
      { item: 'a', processed: 1, total: 3 },
      { item: 2, processed: 2, total: 3 },
      { item: { k: true }, processed: 3, total: 3 },
    ]);
    expectSyntheticFinal(chunks[3], 3);
    expect(lines).toHaveLength(4);
    expect(lines.every((line) => line.startsWith('Received: {'))).toBe(true);
  });

  it('may_fail (Python Errors): rejects with python_error carrying the Python message, after the chunks before it', async () => {
    const { lines, print } = printed();

    const outcome = await runMayFail(pool('consumer'), {}, print);

    if (outcome.ok) throw new Error('may_fail was expected to fail');
    expect(outcome.error).toMatchObject({
      name: 'SnakepitError',
      code: 'python_error',
      message: 'may_fail: step 2 of 3 failed',
      pythonType: 'ValueError',
      tool: 'may_fail',
    });
    expect(outcome.error.pythonTraceback).toContain('ValueError: may_fail: step 2 of 3 failed');
    expect(outcome.received.map((chunk) => chunk.data)).toEqual([{ step: 1, steps: 3 }]);
    expect(lines).toEqual(['Failed: may_fail: step 2 of 3 failed']);
  });

  it('may_fail: resolves and prints Success when the tool does not raise', async () => {
    const { lines, print } = printed();

    const outcome = await runMayFail(pool('consumer'), { steps: 2, fail_at: null }, print);

    expect(outcome.ok).toBe(true);
    expect(outcome.received.map((chunk) => chunk.data)).toEqual([{ step: 1, steps: 2 }, { step: 2, steps: 2 }, null]);
    expect(lines).toEqual(['Success']);
  });

  it('infinite_stream (Stream Cancellation): unsubscribing closes the Python generator, running its finally', async () => {
    const workerLog: string[] = [];

    const report = await cancelInfiniteStream(examplePoolOptions(adapters.consumer, { onLog: (line) => workerLog.push(line) }), {
      cancelAfterMs: 500,
      print: () => {},
    });

    expect(report.received.length).toBeGreaterThan(0);
    expect(report.received.map(({ tick }) => tick)).toEqual(report.received.map((_, i) => i + 1));
    // The generator runs ahead of the consumer by what is in flight, never behind it.
    expect(report.ticksYielded).toBeGreaterThanOrEqual(report.received.length);
    expect(report.closedLine).toMatch(/INFO .*consumer_adapter: infinite_stream closed after \d+ ticks$/);
    // The caller's onLog still sees every worker line, the one waited for included.
    expect(workerLog).toContain(report.closedLine);
  });
});

describe('MLStreamingAdapter (Complete Streaming Example)', () => {
  it('MLClient.trainModel logs each epoch and the model, and returns { ok: "Training completed" }', async () => {
    const { lines, print } = printed();

    const result = await new MLClient(pool('mlStreaming'), print).trainModel(2);

    expect(result).toEqual({ ok: 'Training completed' });
    expect(lines).toEqual([
      'Starting training',
      'Epoch 1: loss=0.8, acc=0.55',
      'Epoch 2: loss=0.64, acc=0.6',
      expect.stringMatching(/^Complete! Model: model_\d+$/),
    ]);
  });

  it('MLClient.trainModel returns { error } with the SnakepitError when the stream fails', async () => {
    const { lines, print } = printed();

    // ConsumerAdapter has no train_with_progress.
    const result = await new MLClient(pool('consumer'), print).trainModel(2);

    expect(result).toEqual({ error: expect.objectContaining({ name: 'SnakepitError', code: 'tool_not_found' }) });
    expect(lines).toEqual(['Starting training']);
  });

  it('the demo writes each epoch as it arrives, half a second apart', async () => {
    const epochs: { line: string; at: number }[] = [];
    const output = new Writable({
      write: (data: Buffer, _encoding, done) => {
        const at = performance.now();
        for (const line of data.toString().split('\n')) if (line.startsWith('Epoch ')) epochs.push({ line, at });
        done();
      },
    });

    await showTraining(pool('mlStreaming'), 2, output);

    expect(epochs.map(({ line }) => line)).toEqual(['Epoch 1: loss=0.8, acc=0.55', 'Epoch 2: loss=0.64, acc=0.6']);
    // The tool sleeps 0.5 s before each epoch: epochs written together would mean the stream was buffered.
    expect(epochs[1]!.at - epochs[0]!.at).toBeGreaterThan(400);
  });

  it.each([
    ['in a log: the epoch lines and plain progress lines', false],
    ['on a terminal: a progress bar with rate and ETA, then the model', true],
  ])('the demo display %s', async (_, isTTY) => {
    let written = '';
    const output = Object.assign(new Writable({ write: (data: Buffer, _encoding, done) => ((written += data.toString()), done()) }), {
      isTTY,
    });

    await showTraining(pool('mlStreaming'), 2, output);

    if (isTTY) {
      expect(written).toMatch(/Training \[[█░]+\] 100% \| 2\/2 \| [\d.]+\/s \| ETA 0\.0s/);
    } else {
      expect(written).toMatch(/^Epoch 1: loss=0.8, acc=0.55\n(.*\n)?Epoch 2: loss=0.64, acc=0.6\n/);
      expect(written).toMatch(/Training: done, 2\/2 in [\d.]+s\n$/);
    }
    expect(written).toMatch(/Complete! Model: model_\d+\n/);
  });
});
