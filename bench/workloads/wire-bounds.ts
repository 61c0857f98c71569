/**
 * Workload 12: what checking a message's lengths before decoding it
 * (lib/contract/wire-bounds.ts) adds to receiving it, on the messages a pool
 * receives most: a batch of small JSON chunks, a batch of many small binary
 * chunks with metadata (the most fields per byte), and one 1 MiB array.
 * In-process: the check alone against what a stream does with a message
 * without it (decode it, parse its JSON run, read each chunk's payload).
 */
import { pb, type ChunkBatch } from '../../lib/contract/bridge-connection.js';
import { checkWireBounds, WIRE_SCHEMAS } from '../../lib/contract/wire-bounds.js';
import { decodeJson, decodePayload } from '../../lib/contract/payload-decoding.js';
import type { BenchContext, Row, Workload, WorkloadResult } from '../support/context.js';
import { distribution } from '../support/stats.js';
import { callsPerRun, measureInTurns, nowMs } from '../support/timing.js';

/** The check may add at most this share of the time a message takes to receive. */
const TARGET_OVERHEAD = 0.1;

function batches(): Record<string, Uint8Array> {
  const records = Array.from({ length: 5_000 }, (_, seq) => JSON.stringify({ seq, value: seq / 7 }));
  const json = new pb.ChunkBatch({ json_run: Buffer.from(`[${records.join(',')}]`) });
  const chunks = new pb.ChunkBatch({
    chunks: Array.from(
      { length: 500 },
      (_, index) =>
        new pb.ToolChunk({
          chunk_id: `call-${index}`,
          data: new Uint8Array(64),
          encoding: pb.Encoding.ENCODING_BYTES,
          metadata: new Map([['stage', String(index)]]),
        }),
    ),
  });
  const array = new pb.ChunkBatch({
    chunks: [
      new pb.ToolChunk({
        chunk_id: 'call-0',
        data: new Uint8Array(1024 * 1024),
        encoding: pb.Encoding.ENCODING_NDARRAY,
        array: new pb.ArrayInfo({ dtype: 'float64', shape: [131_072] }),
      }),
    ],
  });
  return {
    '~5,000 JSON chunks in json_run': json.serialize(),
    '500 binary chunks with metadata': chunks.serialize(),
    'one 1 MiB array': array.serialize(),
  };
}

/** What StreamCall does with a batch once decoded. */
function unpack(batch: ChunkBatch): unknown[] {
  const values = batch.json_run.byteLength > 0 ? (decodeJson(batch.json_run) as unknown[]) : [];
  for (const chunk of batch.chunks) values.push(decodePayload(chunk.encoding, chunk.data, chunk.has_array ? chunk.array : undefined));
  return values;
}

/** Microseconds per call of `decode`, over `repeat` calls. */
function timePerCall(decode: () => unknown, repeat: number): number {
  const started = nowMs();
  for (let index = 0; index < repeat; index++) decode();
  return ((nowMs() - started) * 1000) / repeat;
}

export const wireBounds: Workload = {
  name: 'wire-bounds',
  async run(context: BenchContext): Promise<WorkloadResult> {
    const { runs, wireEncoderRuns } = context.config;
    const iterations = callsPerRun(wireEncoderRuns, runs);
    const rows: Row[] = [];
    const raw: Record<string, unknown> = {};
    for (const [what, bytes] of Object.entries(batches())) {
      const plain = () => unpack(pb.ChunkBatch.deserialize(bytes));
      const checked = () => checkWireBounds(bytes, WIRE_SCHEMAS.ChunkBatch);
      // Alternating, so that drift in the machine's state falls on both; each sample times 20 calls.
      const samples = await measureInTurns(
        {
          decoder: () => Promise.resolve(timePerCall(plain, 20)),
          guarded: () => Promise.resolve(timePerCall(checked, 20)),
        },
        { name: `decoding ${what}`, warmup: 5, runs, iterations, progress: context.progress },
      );
      const decoder = samples['decoder']!;
      const guarded = samples['guarded']!;
      const base = distribution(decoder);
      const withCheck = distribution(guarded);
      const overhead = withCheck.p50 / base.p50;
      const workload = `12 receive a ChunkBatch: ${what}`;
      rows.push(
        { workload, path: 'decode and unpack', unit: 'µs', median: base.p50, p99: base.p99 },
        {
          workload,
          path: 'the length check alone',
          unit: 'µs',
          median: withCheck.p50,
          p99: withCheck.p99,
          ratio: `${(overhead * 100).toFixed(1)} % of receiving`,
          target: `≤ ${TARGET_OVERHEAD * 100} %`,
          pass: overhead <= TARGET_OVERHEAD,
        },
      );
      raw[what] = { microseconds: { decoder, guarded }, distributions: { decoder: base, guarded: withCheck } };
    }
    return { name: 'wire-bounds', rows, raw };
  },
};
