import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Chunk } from '../chunk.js';
import { SnakepitError } from '../errors.js';
import type { HttpCallOptions, HttpToolArguments, ResolvedHttpClientOptions } from './http-client-options.js';
import { callBody, CallControl, errorFromWire, networkError, send, toolPath } from './http-request.js';
import {
  decodeWireChunk,
  RESUME_WINDOW_HEADER,
  SSE_EVENTS,
  STREAM_ID_HEADER,
  type ArrowReader,
  type WireChunk,
  type WireStreamStart,
} from './wire-format.js';

/** Called with each chunk in order; a promise it returns holds back the next chunk, and the reading. */
export type HttpChunkCallback<T> = (chunk: Chunk<T>) => void | Promise<void>;

/**
 * The largest event the client buffers, in characters: a chunk at the pool's
 * largest message (64 MiB), as base64, fits; a server sending more is not ours.
 */
const MAX_EVENT_CHARS = 128 * 1024 * 1024;

/** How one response of a stream ended. */
type ResponseEnd = 'final' | 'dropped';

/** What a stream call knows across its connections. */
interface StreamState {
  streamId: string | undefined;
  resumeWindowMs: number;
  lastIndex: number;
  /** Reconnections in a row that brought no chunk. */
  failures: number;
}

/**
 * Reads one stream response, event by event, into `onChunk`. Resolves
 * `final` after the final chunk, `dropped` when the response ended or broke
 * before it; rejects with the stream's error.
 */
async function readResponse<T>(
  response: Response,
  state: StreamState,
  onChunk: HttpChunkCallback<T>,
  arrow: ArrowReader | undefined,
  control: CallControl,
): Promise<ResponseEnd> {
  const body = response.body;
  if (body === null) return 'dropped';
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event), maxBufferSize: MAX_EVENT_CHARS });
  try {
    for (;;) {
      const read = await reader.read().catch(() => undefined);
      if (read === undefined || read.done) return 'dropped';
      parser.feed(decoder.decode(read.value, { stream: true }));
      const ready = events;
      events = [];
      for (const event of ready) {
        // Events already read are not delivered once the call is over (its timeout, its signal).
        if (control.stopped) throw control.reason();
        if (event.event === SSE_EVENTS.chunk) {
          const chunk = decodeWireChunk<T>(eventData(event) as WireChunk, arrow);
          // A reconnection starts after the last chunk received; a chunk seen before is never delivered twice.
          if (chunk.index <= state.lastIndex) continue;
          state.lastIndex = chunk.index;
          state.failures = 0;
          const pending = onChunk(chunk);
          if (pending !== undefined) await settledOrStopped(pending, control);
          if (chunk.isFinal) return 'final';
        } else if (event.event === SSE_EVENTS.start) {
          const start = eventData(event) as WireStreamStart;
          state.streamId = start.streamId;
          state.resumeWindowMs = start.resumeWindowMs;
        } else if (event.event === SSE_EVENTS.error) {
          throw errorFromWire(eventData(event));
        }
      }
    }
  } finally {
    // Stops the download; after the final chunk there is nothing left but the end.
    reader.cancel().catch(() => {});
  }
}

/**
 * A callback's promise, or the end of the call if that comes first: a callback still busy (or one that
 * never settles) cannot hold a call past its timeout or its signal.
 */
function settledOrStopped(pending: Promise<void>, control: CallControl): Promise<void> {
  const { signal } = control;
  return new Promise<void>((resolve, reject) => {
    const stop = () => reject(control.reason());
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    pending.then(
      () => {
        signal.removeEventListener('abort', stop);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', stop);
        reject(error);
      },
    );
  });
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Runs a streaming tool over HTTP and calls `onChunk` with each chunk, in
 * order, once. A dropped connection is resumed after the last chunk received
 * (`GET /stream/resume/:streamId` with `Last-Event-ID`) when the client has
 * `retry` and the server a resume window; otherwise it fails with `network_error`.
 */
export async function runHttpStream<T>(
  config: ResolvedHttpClientOptions,
  control: CallControl,
  call: { readonly tool: string; readonly args: HttpToolArguments | undefined; readonly options: HttpCallOptions },
  onChunk: HttpChunkCallback<T>,
): Promise<void> {
  const state: StreamState = { streamId: undefined, resumeWindowMs: 0, lastIndex: -1, failures: 0 };
  const path = toolPath('stream', call.tool);
  let response = await send(config, control, { method: 'POST', path, body: callBody(call.args, call.options) });
  readStreamHeaders(response, state);
  try {
    for (;;) {
      if ((await readResponse(response, state, onChunk, config.arrow, control)) === 'final') break;
      if (control.stopped) throw control.reason();
      response = await reconnect(config, control, state);
    }
  } catch (error) {
    // Unsubscribed, a callback that threw, a failed reconnection: a server keeping the stream for a reconnection cancels it now.
    releaseOnServer(config, state);
    throw error;
  }
  // The server keeps even an ended stream for a reconnection, not knowing whether its end arrived: it did.
  releaseOnServer(config, state);
}

/**
 * Takes the stream's id and resume window from the response's headers: a connection that drops before the
 * `stream` event is read (a browser drops what it had not read when a connection breaks) can still resume.
 * A cross-origin page sees them only if the server exposes them; the `stream` event says the same.
 */
function readStreamHeaders(response: Response, state: StreamState): void {
  const streamId = response.headers.get(STREAM_ID_HEADER);
  const resumeWindowMs = Number(response.headers.get(RESUME_WINDOW_HEADER) ?? Number.NaN);
  if (streamId === null || !(resumeWindowMs >= 0)) return;
  state.streamId = streamId;
  state.resumeWindowMs = resumeWindowMs;
}

/** Resumes a dropped stream, retrying as `retry` allows; throws `network_error` once it cannot. */
async function reconnect(config: ResolvedHttpClientOptions, control: CallControl, state: StreamState): Promise<Response> {
  const dropped = 'the connection dropped before the stream ended';
  for (;;) {
    const { streamId } = state;
    if (streamId === undefined || state.resumeWindowMs === 0 || state.failures >= config.retry.attempts) {
      const why = state.resumeWindowMs === 0 || streamId === undefined ? '' : ` (${state.failures} reconnection(s) failed)`;
      throw networkError(`${dropped}${why}`);
    }
    state.failures += 1;
    await wait(config.retry.delay, control.signal);
    if (control.stopped) throw control.reason();
    try {
      return await send(config, control, {
        method: 'GET',
        path: `/stream/resume/${encodeURIComponent(streamId)}`,
        headers: { 'Last-Event-ID': String(state.lastIndex), Accept: 'text/event-stream' },
      });
    } catch (error) {
      if (control.stopped) throw control.reason();
      // The server no longer has the stream: what was missed cannot be had.
      if (error instanceof SnakepitError && error.code !== 'network_error')
        throw networkError(`${dropped} and could not be resumed: ${error.message}`, error);
    }
  }
}

/** Tells a server that keeps streams for a reconnection that this one is over: it cancels the call if it still runs, and forgets it. */
function releaseOnServer(config: ResolvedHttpClientOptions, state: StreamState): void {
  if (state.streamId === undefined || state.resumeWindowMs === 0) return;
  const path = `/stream/${encodeURIComponent(state.streamId)}`;
  send(config, new CallControl({}), { method: 'DELETE', path, keepalive: true }).catch(() => {});
}

/** An event's JSON data; anything else means the server is not ours. */
function eventData(event: EventSourceMessage): unknown {
  try {
    return JSON.parse(event.data);
  } catch {
    throw new SnakepitError('http_error', `the server sent a ${event.event ?? 'message'} event that is not JSON`);
  }
}
