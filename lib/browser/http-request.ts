import { isSnakepitErrorCode, SnakepitError, type SnakepitErrorCode } from '../errors.js';
import type { HttpCallOptions, ResolvedHttpClientOptions } from './http-client-options.js';
import { encodeArguments } from './json-arguments.js';
import { codeForHttpStatus, SnakepitHttpError } from './http-status.js';
import type { WireError } from './wire-format.js';
import { timeoutRefusal } from '../timer-limit.js';

/**
 * The end of one call, from any side: the caller's signal, the call's
 * timeout, or `stop()` (an unsubscribe). `signal` aborts every request of
 * the call; `reason()` is the error to report, if the caller is still listening.
 */
export class CallControl {
  private readonly controller = new AbortController();
  private failure: SnakepitError | undefined;
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () =>
    this.abort(new SnakepitError('cancelled', 'the call was aborted', { cause: this.options.signal?.reason }));

  constructor(private readonly options: HttpCallOptions) {
    const { signal, timeout } = options;
    const refusal = timeoutRefusal(timeout, false);
    if (refusal !== undefined) throw new SnakepitError('invalid_arguments', refusal);
    if (timeout !== undefined) {
      this.timer = setTimeout(() => this.abort(new SnakepitError('timeout', `the call did not finish within ${timeout} ms`)), timeout);
    }
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Ends the call without an error to report: the consumer is gone. */
  stop(): void {
    this.abort(undefined);
  }

  /** Why the call ended from outside: `cancelled`, `timeout`, or an abort error nobody will see (after `stop()`). */
  reason(): SnakepitError {
    return this.failure ?? new SnakepitError('cancelled', 'the call was stopped');
  }

  /** The call is over: its timer and listener go. */
  dispose(): void {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  private abort(failure: SnakepitError | undefined): void {
    if (this.stopped) return;
    this.failure = failure;
    this.dispose();
    this.controller.abort(failure);
  }
}

function isWireError(body: unknown): body is WireError {
  const candidate = body as Partial<WireError> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.code === 'string' && typeof candidate.message === 'string';
}

/** The server's code when this version knows it; a newer server's unknown code reads as an unexpected answer. */
function codeOf(wire: WireError): SnakepitErrorCode {
  return isSnakepitErrorCode(wire.code) ? wire.code : 'http_error';
}

function details(wire: WireError) {
  return { pythonType: wire.pythonType, pythonTraceback: wire.pythonTraceback, hint: wire.hint };
}

/** The error an `error` event or an error response carries, with the same code as in Node. */
export function errorFromWire(wire: unknown): SnakepitError {
  if (!isWireError(wire)) return new SnakepitError('http_error', 'the server sent an error that could not be read');
  return new SnakepitError(codeOf(wire), wire.message, details(wire));
}

/** The error of a response that is not a success: the server's own when it sent one, else one read from the status. */
async function errorFromResponse(response: Response): Promise<SnakepitHttpError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (isWireError(body)) return new SnakepitHttpError(response.status, codeOf(body), body.message, details(body));
  const text = `${response.status} ${response.statusText}`.trim();
  return new SnakepitHttpError(response.status, codeForHttpStatus(response.status), `the server answered HTTP ${text}`);
}

export function networkError(message: string, cause?: unknown): SnakepitError {
  return new SnakepitError('network_error', message, cause === undefined ? {} : { cause });
}

export interface CallRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  /** JSON text. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly keepalive?: boolean;
}

/** Sends a request of the call; resolves with a successful response, or throws the call's typed error. */
export async function send(config: ResolvedHttpClientOptions, control: CallControl, init: CallRequest): Promise<Response> {
  const url = `${config.baseUrl}${init.path}`;
  const own = typeof config.headers === 'function' ? await config.headers() : config.headers;
  const headers: Record<string, string> = { ...own, ...init.headers };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await config.fetch(url, {
      method: init.method,
      headers,
      signal: control.signal,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
      ...(init.keepalive ? { keepalive: true } : {}),
    });
  } catch (error) {
    if (control.stopped) throw control.reason();
    throw networkError(`could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!response.ok) throw await errorFromResponse(response);
  return response;
}

/** The tool's path segment. */
export function toolPath(route: 'stream' | 'execute', tool: string): string {
  if (typeof tool !== 'string' || tool === '') {
    throw new SnakepitError('invalid_arguments', `the tool name must be a non-empty string, got ${String(tool)}`);
  }
  return `/${route}/${encodeURIComponent(tool)}`;
}

/** The body of a call, as JSON text: its arguments and the options the server applies. */
export function callBody(args: unknown, options: HttpCallOptions): string {
  const encoded = args === undefined || args === null ? undefined : encodeArguments(args);
  const fields = [
    ...(encoded === undefined ? [] : [`"args":${encoded.json}`]),
    ...(encoded === undefined || encoded.binaries.length === 0 ? [] : [`"binaries":${JSON.stringify(encoded.binaries)}`]),
    ...(options.sessionId === undefined ? [] : [`"sessionId":${JSON.stringify(options.sessionId)}`]),
    ...(options.timeout === undefined ? [] : [`"timeout":${JSON.stringify(options.timeout)}`]),
  ];
  return `{${fields.join(',')}}`;
}
