import type { ServerResponse } from 'node:http';
import type { Chunk } from '../chunk.js';
import { PooledStream, type Pulled } from '../call/pooled-stream.js';
import { STREAM_ID_HEADER } from '../browser/wire-format.js';
import { refusal, toWireError } from './http-response.js';
import { chunkEvent, errorEvent, HEARTBEAT, startEvent } from './wire-encoding.js';

export interface HttpStreamConfig {
  readonly resumeWindowMs: number;
  readonly resumeBufferBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly exposeTracebacks: boolean;
}

/** An event already sent, kept for a client that reconnects. */
interface SentEvent {
  readonly index: number;
  readonly text: string;
}

/** Chunks that are ready when a write leaves go out in one write, up to this many characters. */
const MAX_WRITE_CHARS = 256 * 1024;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * One `POST /stream/:tool`: a pooled call whose chunks go to the client's
 * response as server-sent events, pulled only as fast as the response
 * drains. With a resume window, the call outlives a dropped connection for
 * that long and keeps its recent events, so that a client reconnecting
 * (`attach` with the last index it got) misses nothing and gets nothing twice.
 */
export class HttpStream {
  private readonly source: PooledStream;
  private readonly kept: SentEvent[] = [];
  private keptChars = 0;
  private produced = 0;
  /** The response events go to; undefined while the client is away. */
  private res: ServerResponse | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private window: NodeJS.Timeout | undefined;
  /** Set once the pooled call ended: the text that ends a response ('' for the end of the stream). */
  private ending: string | undefined;
  private wakeWriter: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    chunks: AsyncIterator<Chunk>,
    private readonly config: HttpStreamConfig,
    private readonly onClosed: () => void,
  ) {
    this.source = new PooledStream(chunks);
  }

  private get resumable(): boolean {
    return this.config.resumeWindowMs > 0;
  }

  /** Sends the stream to its first response and starts the pooled call. */
  start(res: ServerResponse): void {
    this.attach(res, -1);
    this.pump().catch(() => this.close());
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
    const firstKept = this.kept[0]?.index ?? this.produced;
    if (lastIndex + 1 < firstKept) {
      throw refusal(410, 'invalid_arguments', `chunks after ${lastIndex} are no longer kept; the stream cannot resume without a gap`);
    }
    const previous = this.res;
    this.res = undefined;
    previous?.destroy();
    clearTimeout(this.window);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
      [STREAM_ID_HEADER]: this.id,
    });
    const missed = this.kept.filter((event) => event.index > lastIndex).map((event) => event.text);
    const opening = startEvent({ streamId: this.id, resumeWindowMs: this.config.resumeWindowMs }) + missed.join('');
    res.on('error', () => {});
    res.once('close', () => this.detach(res));
    this.res = res;
    if (this.ending !== undefined) {
      res.end(opening + this.ending);
      return;
    }
    res.write(opening);
    if (this.config.heartbeatIntervalMs > 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => {
        if (!res.writableNeedDrain) res.write(HEARTBEAT);
      }, this.config.heartbeatIntervalMs).unref();
    }
    this.wake();
  }

  /** Ends the pooled call (the generator is closed) and forgets the stream. */
  cancel(): void {
    this.source.cancel();
    this.res?.destroy();
    this.close();
  }

  /** The response closed: the stream is over if it had all of it, else the client went away. */
  private detach(res: ServerResponse): void {
    if (this.res !== res || this.closed) return;
    this.res = undefined;
    clearInterval(this.heartbeat);
    if (res.writableFinished) {
      this.close();
      return;
    }
    if (!this.resumable) {
      this.cancel();
      return;
    }
    this.window = setTimeout(() => this.cancel(), this.config.resumeWindowMs).unref();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const first = await this.source.pull();
      if (first.kind !== 'chunk') {
        this.end(first);
        return;
      }
      const texts = [this.keep(first.chunk)];
      let length = texts[0]!.length;
      let ending: Exclude<Pulled, { kind: 'chunk' }> | undefined;
      if (!first.chunk.isFinal) {
        const turn = nextTurn();
        while (length < MAX_WRITE_CHARS) {
          const pulled = await this.source.pullReady(turn);
          if (pulled === undefined) break;
          if (pulled.kind !== 'chunk') {
            ending = pulled;
            break;
          }
          const text = this.keep(pulled.chunk);
          texts.push(text);
          length += text.length;
          if (pulled.chunk.isFinal) break;
        }
      }
      if (this.closed) return;
      await this.deliver(texts.join(''));
      if (ending !== undefined) {
        this.end(ending);
        return;
      }
    }
  }

  /** The chunk's event, kept for a reconnection when the stream is resumable. */
  private keep(chunk: Chunk): string {
    const text = chunkEvent(chunk);
    this.produced = chunk.index + 1;
    if (this.resumable) {
      this.kept.push({ index: chunk.index, text });
      this.keptChars += text.length;
    }
    return text;
  }

  /**
   * Writes to the client, if one is connected, and waits until it has taken
   * it; meanwhile nothing is pulled, so the worker pauses. While no client
   * is connected, the call goes on into the kept events, within their budget.
   */
  private async deliver(text: string): Promise<void> {
    const res = this.res;
    if (res === undefined) {
      if (!this.resumable) this.cancel();
      else if (this.keptChars > this.config.resumeBufferBytes) this.cancel();
      return;
    }
    // Events sent stay kept up to half the budget: a dropped connection loses at most what was in flight.
    while (this.keptChars > this.config.resumeBufferBytes / 2 && this.kept.length > 1) {
      this.keptChars -= this.kept.shift()!.text.length;
    }
    if (res.write(text)) return;
    await new Promise<void>((resolve) => {
      this.wakeWriter = resolve;
      res.once('drain', () => this.wake());
    });
  }

  private end(pulled: Exclude<Pulled, { kind: 'chunk' }>): void {
    if (pulled.kind === 'cancelled') {
      this.close();
      return;
    }
    this.ending = pulled.kind === 'error' ? errorEvent(toWireError(pulled.error, this.config.exposeTracebacks)) : '';
    if (this.res !== undefined) this.res.end(this.ending);
    else if (!this.resumable) this.close();
    // Else the window, already running, keeps the ending for a client that reconnects.
  }

  /** Forgets the stream; its pooled call has ended or been cancelled. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.window);
    this.kept.length = 0;
    this.onClosed();
  }
}
