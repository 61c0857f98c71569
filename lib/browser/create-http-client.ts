import { Observable } from 'rxjs';
import { callbackRefusal } from '../callback-refusal.js';
import type { Chunk } from '../chunk.js';
import { SnakepitError } from '../errors.js';
import type { ToolInfo } from '../public-types.js';
import type {
  StreamingToolName,
  ToolArgumentsParameter,
  ToolCallParameters,
  ToolData,
  ToolResult,
  ToolsShape,
  UnaryToolName,
  UntypedTools,
} from '../typed-tools.js';
import { resolveHttpClientOptions, type HttpCallOptions, type HttpClientOptions, type HttpToolArguments } from './http-client-options.js';
import { callBody, CallControl, networkError, send, toolPath } from './http-request.js';
import { runHttpStream, type HttpChunkCallback } from './http-stream-call.js';
import { decodeWireValue, type WireResult } from './wire-format.js';

/**
 * The pool's calls, over HTTP, from a browser. Create it with {@link createHttpClient}.
 *
 * `Tools` describes the server's tools, as `npx snakepit-rx types` generates
 * it for the pool (`createHttpClient<MyAdapterTools>(...)`): tool names,
 * arguments and the kind of call are then checked at compile time, and
 * chunks and results typed. Without it, any name and JSON arguments are
 * taken, and the caller declares what comes back.
 */
export interface HttpClient<Tools extends ToolsShape<Tools> = UntypedTools> {
  /**
   * Runs a streaming tool. Cold: nothing is requested before subscription;
   * each subscription runs the tool once and emits its chunks in order, the
   * last with `isFinal: true`. Unsubscribing aborts the request, and the
   * server cancels the call (the Python generator is closed).
   */
  stream<T = unknown, Name extends StreamingToolName<Tools> = StreamingToolName<Tools>>(
    tool: Name,
    ...rest: ToolCallParameters<Tools, Name, HttpCallOptions>
  ): Observable<Chunk<ToolData<Tools, Name, T>>>;
  /**
   * Runs a streaming tool and calls `callback(chunk)` for each chunk, in
   * order. When the callback returns a promise, the next chunk waits for it,
   * and so does the reading (the server pauses the tool). Resolves when the
   * stream completes, rejects with its error.
   */
  executeStream<T = unknown, Name extends StreamingToolName<Tools> = StreamingToolName<Tools>>(
    tool: Name,
    args: ToolArgumentsParameter<Tools, Name>,
    callback: HttpChunkCallback<ToolData<Tools, Name, T>>,
    options?: HttpCallOptions,
  ): Promise<void>;
  /** Runs a unary tool and resolves with its result. */
  execute<R = unknown, Name extends UnaryToolName<Tools> = UnaryToolName<Tools>>(
    tool: Name,
    ...rest: ToolCallParameters<Tools, Name, HttpCallOptions>
  ): Promise<ToolResult<Tools, Name, R>>;
  /** The tools the server exposes. */
  tools(options?: Pick<HttpCallOptions, 'signal' | 'timeout'>): Promise<readonly ToolInfo[]>;
}

/** Runs `work` under a call's control and settles as it does; the control's timer goes with it. */
async function controlled<T>(options: HttpCallOptions, work: (control: CallControl) => Promise<T>): Promise<T> {
  const control = new CallControl(options);
  try {
    return await work(control);
  } finally {
    control.dispose();
  }
}

/** The response's JSON; a body that stops or breaks while it is read fails as the call's end or the network's, not as the server's. */
async function readJson(response: Response, control: CallControl): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    if (control.stopped) throw control.reason();
    throw networkError(
      `the connection dropped while the answer was read: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SnakepitError('http_error', 'the server answered with something that is not JSON');
  }
}

/**
 * A client of a server that mounted `createHttpHandler` at `baseUrl`: the
 * same calls as the pool's, with the same shapes, errors and codes, plus
 * `network_error` (the server could not be reached, or the connection
 * dropped) and `http_error` (an unexpected HTTP status, on the error's `status`).
 *
 * ```ts
 * const client = createHttpClient({ baseUrl: '/snakepit' });
 * client.stream<{ step: number }>('stream_progress', { steps: 5 }).pipe(chunkData()).subscribe(console.log);
 * ```
 */
export function createHttpClient<Tools extends ToolsShape<Tools> = UntypedTools>(options: HttpClientOptions): HttpClient<Tools> {
  return untypedClient(resolveHttpClientOptions(options));
}

/** The client's calls; its typed face ({@link HttpClient}) only narrows what callers may pass. */
interface UntypedHttpClient {
  stream<T>(tool: string, args?: HttpToolArguments, options?: HttpCallOptions): Observable<Chunk<T>>;
  executeStream<T>(
    tool: string,
    args: HttpToolArguments | undefined,
    callback: HttpChunkCallback<T>,
    options?: HttpCallOptions,
  ): Promise<void>;
  execute<R>(tool: string, args?: HttpToolArguments, options?: HttpCallOptions): Promise<R>;
  tools(options?: Pick<HttpCallOptions, 'signal' | 'timeout'>): Promise<readonly ToolInfo[]>;
}

function untypedClient(config: ReturnType<typeof resolveHttpClientOptions>): UntypedHttpClient {
  return {
    stream<T = unknown>(tool: string, args?: HttpToolArguments, callOptions: HttpCallOptions = {}): Observable<Chunk<T>> {
      return new Observable<Chunk<T>>((subscriber) => {
        let control: CallControl;
        try {
          control = new CallControl(callOptions);
        } catch (error) {
          subscriber.error(error);
          return undefined;
        }
        runHttpStream<T>(config, control, { tool, args, options: callOptions }, (chunk) => subscriber.next(chunk)).then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        );
        return () => {
          control.stop();
          control.dispose();
        };
      });
    },

    executeStream<T = unknown>(
      tool: string,
      args: HttpToolArguments | undefined,
      callback: HttpChunkCallback<T>,
      callOptions: HttpCallOptions = {},
    ) {
      const refusal = callbackRefusal(callback);
      if (refusal !== undefined) return Promise.reject(new SnakepitError('invalid_arguments', refusal));
      return controlled(callOptions, (control) => runHttpStream<T>(config, control, { tool, args, options: callOptions }, callback));
    },

    execute<R = unknown>(tool: string, args?: HttpToolArguments, callOptions: HttpCallOptions = {}): Promise<R> {
      return controlled(callOptions, async (control) => {
        const response = await send(config, control, {
          method: 'POST',
          path: toolPath('execute', tool),
          body: callBody(args, callOptions),
        });
        const body = (await readJson(response, control)) as WireResult;
        return decodeWireValue(body.result, body, config.arrow) as R;
      });
    },

    tools(callOptions: Pick<HttpCallOptions, 'signal' | 'timeout'> = {}): Promise<readonly ToolInfo[]> {
      return controlled(callOptions, async (control) => {
        const response = await send(config, control, { method: 'GET', path: '/tools' });
        return ((await readJson(response, control)) as { tools: readonly ToolInfo[] }).tools;
      });
    },
  };
}
