import type { ServerResponse } from 'node:http';
import type { Chunk } from '../chunk.js';
import { RESUME_WINDOW_HEADER, STREAM_ID_HEADER } from '../browser/wire-format.js';
import { refusal, sendError, toWireError } from './http-response.js';
import {
  base64Pieces,
  BINARY_EVENT_END,
  chunkEvent,
  errorEvent,
  eventBytes,
  HEARTBEAT,
  startEvent,
  type SseEvent,
} from './wire-encoding.js';

export interface HttpStreamConfig {
  readonly resumeWindowMs: number;
  readonly resumeBufferBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly exposeTracebacks: boolean;
}

/**
 * Runs the pooled call: `onWorker` once it has a worker, `onChunk` for each
 * chunk (a promise it returns pauses delivery, and the worker); settles as
 * the call does.
 */
export type RunCall = (onChunk: (chunk: Chunk) => Promise<void> | undefined, signal: AbortSignal, onWorker: () => void) => Promise<void>;

/** An event already sent, kept for a client that reconnects. */
interface KeptEvent {
  readonly index: number;
  readonly event: SseEvent;
}

/** Events waiting to be written go out together once they reach this many bytes, or at the next turn. */
const MAX_WRITE_BYTES = 256 * 1024;

/**
 * One `POST /stream/:tool`: a pooled call whose chunks go to the client's
 * response as server-sent events, delivered only as fast as the response
 * drains. With a resume window, the call outlives a dropped connection for
 * that long and keeps its recent events, so that a client reconnecting
 * (`attach` with the last index it got) misses nothing and gets nothing twice.
 */
export class HttpStream {
  private readonly controller = new AbortController();
  /** Events kept for a reconnection, from `keptHead` on (the ones before were dropped). */
  private kept: KeptEvent[] = [];
  private keptHead = 0;
  private keptBytes = 0;
  private produced = 0;
  private unsent: SseEvent[] = [];
  private unsentBytes = 0;
  private flushScheduled = false;
  /** While the response is full: resolves once it drains, or the client goes. */
  private blocked: Promise<void> | undefined;
  private unblock: (() => void) | undefined;
  /** The response events go to; undefined while the client is away. */
  private res: ServerResponse | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private window: NodeJS.Timeout | undefined;
  /** Set once the pooled call ended: the text that ends a response ('' for the end of the stream). */
  private ending: string | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly config: HttpStreamConfig,
    private readonly onClosed: () => void,
  ) {}

  private get resumable(): boolean {
    return this.config.resumeWindowMs > 0;
  }

  /**
   * Starts the pooled call, and sends the stream to its first response once the call has a worker: a call
   * that never gets one (the pool refuses it, or it times out in the queue) is answered with its status,
   * 503 or 504, rather than as a stream that fails before it ran. A client that leaves meanwhile cancels it.
   */
  start(res: ServerResponse, run: RunCall): void {
    let attached = false;
    const leftWhileWaiting = () => this.cancel();
    res.once('close', leftWhileWaiting);
    const begin = () => {
      if (attached || this.closed) return;
      attached = true;
      res.off('close', leftWhileWaiting);
      this.attach(res, -1);
    };
    run((chunk) => this.deliver(chunk), this.controller.signal, begin).then(
      () => (this.controller.signal.aborted ? this.close() : this.end('')),
      (error: unknown) => {
        if (this.controller.signal.aborted) this.close();
        else if (!attached) {
          res.off('close', leftWhileWaiting);
          sendError(res, error, this.config.exposeTracebacks);
          this.close();
        } else this.end(errorEvent(toWireError(error, this.config.exposeTracebacks)));
      },
    );
  }

  /**
   * Sends the stream to a response from the chunk after `lastIndex` on:
   * the kept events the client missed, then the rest as it comes. Throws the
   * refusal to answer with when those events are no longer kept.
   */
  attach(res: ServerResponse, lastIndex: number): void {
    if (lastIndex >= this.produced) {
      throw refusal(400, 'invalid_arguments', `Last-Event-ID ${lastIndex} is past the last chunk sent (${this.produced - 1})`);
    }
    const firstKept = this.kept[this.keptHead]?.index ?? this.produced;
    if (lastIndex + 1 < firstKept) {
      throw refusal(410, 'invalid_arguments', `chunks after ${lastIndex} are no longer kept; the stream cannot resume without a gap`);
    }
    const previous = this.res;
    this.res = undefined;
    previous?.destroy();
    // Delivery waiting for the previous response to drain goes on into this one.
    this.release();
    clearTimeout(this.window);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
      [STREAM_ID_HEADER]: this.id,
      [RESUME_WINDOW_HEADER]: String(this.config.resumeWindowMs),
    });
    res.on('error', () => {});
    res.once('close', () => this.detach(res));
    this.res = res;
    const missed = this.kept.slice(this.keptHead).filter((kept) => kept.index > lastIndex);
    // Events not yet written are among the kept ones: they go out now, with the rest.
    this.unsent = [];
    this.unsentBytes = 0;
    this.write(res, [startEvent({ streamId: this.id, resumeWindowMs: this.config.resumeWindowMs }), ...missed.map((kept) => kept.event)]);
    if (this.ending !== undefined) {
      res.end(this.ending);
      return;
    }
    if (this.config.heartbeatIntervalMs > 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => {
        if (!res.writableNeedDrain) res.write(HEARTBEAT);
      }, this.config.heartbeatIntervalMs).unref();
    }
  }

  /** Ends the pooled call (the generator is closed) and forgets the stream. */
  cancel(): void {
    this.controller.abort();
    this.res?.destroy();
    this.close();
  }

  /**
   * The response closed: without a resume window, the stream is over (the call is cancelled if it still runs).
   * With one, it is kept for the window, even if its end was written: written is not received, and a connection
   * that drops while the last events are on their way must still be able to resume. The client releases an
   * ended stream once it has the end (`DELETE`).
   */
  private detach(res: ServerResponse): void {
    if (this.res !== res || this.closed) return;
    this.res = undefined;
    clearInterval(this.heartbeat);
    this.release();
    if (!this.resumable) {
      if (res.writableFinished) this.close();
      else this.cancel();
      return;
    }
    this.window = setTimeout(() => this.cancel(), this.config.resumeWindowMs).unref();
  }

  /** A chunk from the pool: queued for the next write; a promise while the client has not taken what was written. */
  private deliver(chunk: Chunk): Promise<void> | undefined {
    if (this.closed) return undefined;
    const event = chunkEvent(chunk);
    this.produced = chunk.index + 1;
    if (this.resumable) this.keep(chunk.index, event);
    this.unsent.push(event);
    this.unsentBytes += eventBytes(event);
    if (this.unsentBytes >= MAX_WRITE_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return this.blocked;
  }

  private keep(index: number, event: SseEvent): void {
    this.kept.push({ index, event });
    this.keptBytes += eventBytes(event);
    if (this.res === undefined) {
      // Nobody is connected: the events pile up for a reconnection, within the budget.
      if (this.keptBytes > this.config.resumeBufferBytes) this.cancel();
      return;
    }
    // Events sent stay kept up to half the budget: a dropped connection loses at most what was in flight.
    while (this.keptBytes > this.config.resumeBufferBytes / 2 && this.kept.length - this.keptHead > 1) {
      this.keptBytes -= eventBytes(this.kept[this.keptHead]!.event);
      this.keptHead += 1;
    }
    if (this.keptHead > 1024 && this.keptHead * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.keptHead);
      this.keptHead = 0;
    }
  }

  /** Writes the queued events to the client, if one is connected. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.unsent.length === 0) return;
    const events = this.unsent;
    this.unsent = [];
    this.unsentBytes = 0;
    if (this.res !== undefined) this.write(this.res, events);
  }

  /** Writes events in order, texts in a row as one write; delivery waits when the response is full. */
  private write(res: ServerResponse, events: readonly SseEvent[]): void {
    let flowing = true;
    let text = '';
    for (const event of events) {
      if (typeof event === 'string') text += event;
      else {
        flowing = res.write(text + event.head) && flowing;
        // As Latin-1, base64 text is copied byte for byte into the socket's buffer.
        for (const piece of base64Pieces(event.data)) flowing = res.write(piece, 'latin1') && flowing;
        text = BINARY_EVENT_END;
      }
    }
    if (text !== '') flowing = res.write(text) && flowing;
    if (flowing || this.blocked !== undefined) return;
    this.blocked = new Promise<void>((resolve) => (this.unblock = resolve));
    res.once('drain', () => this.release());
  }

  /** Lets delivery go on: the response drained, or it is gone. */
  private release(): void {
    const unblock = this.unblock;
    this.blocked = undefined;
    this.unblock = undefined;
    unblock?.();
  }

  private end(ending: string): void {
    if (this.closed) return;
    this.ending = ending;
    const res = this.res;
    if (res !== undefined) {
      this.write(res, this.unsent);
      this.unsent = [];
      res.end(ending);
    } else if (!this.resumable) this.close();
    // Else the window, already running, keeps the ending for a client that reconnects.
  }

  /** Forgets the stream; its pooled call has ended or been cancelled. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.window);
    this.release();
    this.kept = [];
    this.unsent = [];
    this.onClosed();
  }
}
