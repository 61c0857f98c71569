import { status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { Readable } from 'node:stream';
import type { Chunk } from '../chunk.js';
import type { ChunkBatch, ExecuteToolRequest, ToolChunk } from '../contract/bridge-connection.js';
import { attachedBytes, decodeJson, decodePayload, withAttachments, type AttachmentMessage } from '../contract/payload-decoding.js';
import { SnakepitError } from '../errors.js';
import { lossError, neverRan, reportFailure, type NotRun } from './call-failure.js';
import type { HostToolRelay } from './host-tool-relay.js';
import type { Worker } from '../worker/worker.js';

/** Set once the first stream has shown that its read-ahead can be set as {@link holdOneMessage} does. */
let readAheadChecked = false;

/**
 * grpc-js reads ahead up to the stream's high-water mark, 16 messages in
 * object mode, while the stream is paused: 16 MiB of 1 MiB chunks. One
 * message read ahead is enough; grpc-js has no option for it, so the mark
 * is set on the stream's state, where Node keeps it. The first stream checks
 * that this still works (the public `readableHighWaterMark` reads it back),
 * and throws if Node or grpc-js keep the mark elsewhere now, rather than
 * silently reading sixteen messages ahead.
 */
function holdOneMessage(stream: Readable): void {
  const state = (stream as { _readableState?: unknown })._readableState;
  const settable = typeof state === 'object' && state !== null && 'highWaterMark' in state && typeof state.highWaterMark === 'number';
  if (settable) state.highWaterMark = 1;
  if (readAheadChecked) return;
  if (!settable || stream.readableHighWaterMark !== 1) {
    throw new Error(
      "cannot limit a grpc-js stream's read-ahead: `_readableState.highWaterMark` is not where Node kept it " +
        '(a Node or @grpc/grpc-js upgrade changed it); snakepit-rx needs an update',
    );
  }
  readAheadChecked = true;
}

export interface ChunkSink<T> {
  next(chunk: Chunk<T>): void;
  /** Payload bytes of a message received, before its chunks are delivered. */
  received(bytes: number): void;
  /** `notRun`: why the tool certainly never ran, when it did not (see `NotRun` in call-failure.ts). */
  error(error: SnakepitError, notRun: NotRun | undefined): void;
  complete(): void;
  /** The worker is done with the call (its tool returned): it may serve others while chunks still wait for the consumer. */
  workerDone(): void;
}

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/** A batch's attachments, by the position of their chunk in the batch. */
function byChunk(attachments: readonly AttachmentMessage[]): Map<number, AttachmentMessage[]> {
  const grouped = new Map<number, AttachmentMessage[]>();
  for (const attachment of attachments) {
    const group = grouped.get(attachment.chunk);
    if (group === undefined) grouped.set(attachment.chunk, [attachment]);
    else group.push(attachment);
  }
  return grouped;
}

/**
 * One streaming call on one worker: unpacks batches into chunks, delivers
 * them in order, and ends with the final chunk (synthetic if the tool marked
 * none) and completion, or with an error after every chunk received before it.
 *
 * Delivery can be paused; while chunks wait, reading from the worker pauses
 * too, so the worker's sends block and its generator waits at `yield`.
 */
export class StreamCall<T> {
  private call: (Readable & { cancel(): void }) | undefined;
  private pending: Chunk<T>[] = [];
  private head = 0;
  private nextIndex = 0;
  private sawFinal = false;
  private paused = false;
  private draining = false;
  private transportPaused = false;
  private transportEnded = false;
  private transportError: ServiceError | undefined;
  /**
   * The worker sends its initial metadata when the call arrives, before the tool runs. A call with host tools
   * counts as acknowledged from the start: it is never run twice.
   */
  private acknowledged: boolean;
  private done = false;
  private startedAt = 0;
  private stopListeningForExit: () => void = () => {};
  private readonly tool: string;
  private readonly callId: string;

  /** With `host`, the call runs on a stream both ways that also carries its tool's host-tool calls. */
  constructor(
    private readonly worker: Worker,
    private readonly request: ExecuteToolRequest,
    private readonly sink: ChunkSink<T>,
    /** gRPC metadata for the worker: the call's trace context (and its session's routing). */
    private readonly headers: Readonly<Record<string, string>>,
    private readonly host?: HostToolRelay,
  ) {
    this.tool = request.tool_name;
    this.callId = request.call_id;
    this.acknowledged = host !== undefined;
  }

  start(): void {
    this.startedAt = performance.now();
    this.stopListeningForExit = this.worker.onExit((exit) => {
      if (!exit.expected) this.fail(lossError(this.worker, this.tool), neverRan(this.worker, this.acknowledged));
    });
    // The worker may have died between the lease and the start.
    if (this.done) return;
    const { connection } = this.worker;
    const call: Readable & { cancel(): void } =
      this.host === undefined
        ? connection.streamBatches(this.request, this.headers)
        : this.host.stream(connection, this.request, this.headers, (batch) => this.receive(batch));
    this.call = call;
    call.once('metadata', () => (this.acknowledged = true));
    try {
      holdOneMessage(call);
    } catch (error) {
      this.fail(this.transportFailure(error instanceof Error ? error.message : String(error), error));
      return;
    }
    if (this.host === undefined) call.on('data', (batch: ChunkBatch) => this.receive(batch));
    // grpc-js emits 'error' as soon as the status arrives, possibly before
    // messages it still buffers; 'end' comes after them, so outcomes are settled there.
    call.on('error', (error: ServiceError) => {
      this.transportError = error;
    });
    // The status arrives as soon as the worker ends the call, even while a paused consumer leaves
    // messages unread: the worker is done with it, and a consumer holding chunks back holds the
    // worker only while the tool runs.
    call.on('status', (status: StatusObject) => {
      if (status.code === Status.OK) this.sink.workerDone();
    });
    call.on('end', () => {
      this.transportEnded = true;
      if (this.transportError === undefined && !this.sawFinal) this.pending.push(this.syntheticFinal());
      this.drain();
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /** Stops the call without notifying the sink; the worker closes the generator. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.cleanUp();
  }

  private cleanUp(): void {
    this.stopListeningForExit();
    if (!this.transportEnded) this.call?.cancel();
    this.host?.close();
    this.pending = [];
  }

  private fail(error: SnakepitError, notRun?: NotRun): void {
    if (this.done) return;
    this.done = true;
    this.cleanUp();
    this.sink.error(error, notRun);
  }

  private transportFailure(message: string, cause: unknown): SnakepitError {
    return new SnakepitError('transport_error', message, { workerId: this.worker.id, tool: this.tool, cause });
  }

  private receive(batch: ChunkBatch): void {
    if (this.done) return;
    let bytes = batch.json_run.byteLength + attachedBytes(batch.attachments);
    for (const chunk of batch.chunks) bytes += chunk.data.byteLength + attachedBytes(chunk.attachments);
    this.sink.received(bytes);
    try {
      const attachments = batch.attachments.length > 0 ? byChunk(batch.attachments) : undefined;
      let position = 0;
      if (batch.json_run.byteLength > 0) {
        const { callId } = this;
        const run = decodeJson(batch.json_run) as unknown[];
        for (; position < run.length; position += 1) {
          const index = this.nextIndex++;
          const found = attachments?.get(position);
          const data = (found === undefined ? run[position] : withAttachments(run[position], found)) as T;
          this.pending.push({ data, isFinal: false, index, chunkId: `${callId}-${index}`, metadata: NO_METADATA });
        }
      }
      for (const chunk of batch.chunks) this.pending.push(this.toChunk(chunk, attachments?.get(position++)));
    } catch (error) {
      this.fail(this.transportFailure(`cannot decode a chunk: ${String(error)}`, error));
      return;
    }
    this.drain();
  }

  private toChunk(message: ToolChunk, batchAttachments: readonly AttachmentMessage[] | undefined): Chunk<T> {
    const index = this.nextIndex++;
    const attachments = batchAttachments ?? message.attachments;
    const payload = decodePayload(message.encoding, message.data, message.has_array ? message.array : undefined);
    const data = withAttachments(payload, attachments) as T;
    const toolMetadata = message.metadata.size > 0 ? Object.fromEntries(message.metadata) : NO_METADATA;
    if (message.is_final) this.sawFinal = true;
    return {
      data,
      isFinal: message.is_final,
      index,
      chunkId: message.chunk_id || `${this.callId}-${index}`,
      metadata: message.is_final ? { ...this.finalMetadata(), ...toolMetadata } : toolMetadata,
    };
  }

  private finalMetadata(): Record<string, string> {
    return {
      execution_time_ms: String(Math.round(performance.now() - this.startedAt)),
      tool_type: 'remote',
      worker_id: this.worker.id,
    };
  }

  private drain(): void {
    if (this.draining || this.done) return;
    this.draining = true;
    try {
      while (!this.paused && !this.done && this.head < this.pending.length) {
        this.sink.next(this.pending[this.head++] as Chunk<T>);
      }
    } finally {
      this.draining = false;
    }
    if (this.done) return;
    if (this.paused) {
      // The consumer is busy: leave the rest, and the outcome, until it resumes.
      this.pauseTransport();
      return;
    }
    this.pending = [];
    this.head = 0;
    if (this.transportEnded) this.finish();
    else this.resumeTransport();
  }

  private pauseTransport(): void {
    if (this.transportPaused || this.transportEnded) return;
    this.transportPaused = true;
    this.call?.pause();
  }

  private resumeTransport(): void {
    if (!this.transportPaused) return;
    this.transportPaused = false;
    this.call?.resume();
  }

  private syntheticFinal(): Chunk<T> {
    this.sawFinal = true;
    const index = this.nextIndex++;
    return {
      data: null as T,
      isFinal: true,
      index,
      chunkId: `${this.callId}-${index}`,
      metadata: { ...this.finalMetadata(), synthetic_final: 'true' },
    };
  }

  private finish(): void {
    const error = this.transportError;
    if (error === undefined) {
      this.done = true;
      this.stopListeningForExit();
      this.host?.close();
      this.sink.complete();
    } else {
      reportFailure(this.worker, this.tool, error, (failure, notRun) => this.fail(failure, notRun));
    }
  }
}
