import { fitsTimer, MAX_TIMER_MS } from '../timer-limit.js';
import { SnakepitError } from '../errors.js';
import type { ArrowReader } from './wire-format.js';

/** How a client reconnects to a stream whose connection dropped (the server needs a `resumeWindow`). */
export interface RetryOptions {
  /** Reconnections tried in a row without receiving a chunk before the stream fails with `network_error`. */
  readonly attempts: number;
  /** Milliseconds to wait before each reconnection. */
  readonly delay: number;
}

/** Request headers, or a function giving them for each request (a token that changes, say). */
export type HeadersOption =
  Readonly<Record<string, string>> | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>);

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Where the server mounted `createHttpHandler`: `'/snakepit'`, or a full URL such as `'https://api.example.com/snakepit'`. */
  readonly baseUrl: string;
  /** Headers sent with every request (an `Authorization` header, say). */
  readonly headers?: HeadersOption;
  /** `fetch`'s `credentials`: `'include'` sends cookies to another origin. Default: `fetch`'s own (`'same-origin'`). */
  readonly credentials?: 'omit' | 'same-origin' | 'include';
  /** The `fetch` to use, e.g. one that adds an application's authentication. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Reconnect to a stream whose connection dropped, resuming after the last chunk received. Default: no retry. */
  readonly retry?: RetryOptions;
  /**
   * apache-arrow's `tableFromIPC`, to read the Arrow data (dataframes, record batches) tools send:
   * `import { tableFromIPC } from 'apache-arrow'` and pass `{ tableFromIPC }`. Without it, a call that
   * receives Arrow data fails with `serialization_error`; the client never loads apache-arrow itself.
   */
  readonly arrow?: ArrowReader;
}

/** Options of one call, as the pool's call options. */
export interface HttpCallOptions {
  /** Aborting it cancels the call (the Python generator is closed); it fails with `cancelled`. */
  readonly signal?: AbortSignal;
  /** Milliseconds the whole call may take; the server may set a lower ceiling. On expiry it fails with `timeout`. */
  readonly timeout?: number;
  /** Calls with the same session prefer the worker that served it last. */
  readonly sessionId?: string;
}

/** Keyword arguments of a tool: a JSON object. */
export type HttpToolArguments = Readonly<Record<string, unknown>>;

export interface ResolvedHttpClientOptions {
  readonly baseUrl: string;
  readonly headers: HeadersOption;
  readonly credentials: HttpClientOptions['credentials'];
  readonly fetch: typeof fetch;
  readonly retry: RetryOptions;
  readonly arrow: ArrowReader | undefined;
}

function invalid(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', `createHttpClient: ${message}`);
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(`${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

/** A delay a timer waits for: a browser, as Node, fires one over MAX_TIMER_MS at once. */
function timerDelay(value: unknown, name: string): number {
  const ms = nonNegative(value, name);
  if (!fitsTimer(ms)) throw invalid(`${name} must be a number of ms from 0, at most ${MAX_TIMER_MS} (about 24.8 days), got ${ms}`);
  return ms;
}

export function resolveHttpClientOptions(options: HttpClientOptions): ResolvedHttpClientOptions {
  if (typeof options !== 'object' || options === null || typeof options.baseUrl !== 'string') {
    throw invalid("`baseUrl` is required: where the server mounted createHttpHandler, e.g. '/snakepit'");
  }
  const fetchFunction = options.fetch ?? (typeof fetch === 'function' ? fetch.bind(globalThis) : undefined);
  if (typeof fetchFunction !== 'function') throw invalid('no fetch: pass one as `fetch`');
  const retry = options.retry ?? { attempts: 0, delay: 0 };
  return {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: options.headers ?? {},
    credentials: options.credentials,
    fetch: fetchFunction,
    retry: { attempts: Math.floor(nonNegative(retry.attempts, 'retry.attempts')), delay: timerDelay(retry.delay, 'retry.delay') },
    arrow: options.arrow,
  };
}
