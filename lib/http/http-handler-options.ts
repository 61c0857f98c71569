import type { IncomingMessage } from 'node:http';
import { DEFAULT_TIMEOUT_MS } from '../call/call-scope.js';
import { SnakepitError } from '../errors.js';
import { MAX_TIMER_MS } from '../timer-limit.js';

/**
 * What `authorize(req)` may answer: `true` lets the request through;
 * `false` or `'unauthenticated'` refuses it with 401 (`unauthenticated`),
 * `'forbidden'` with 403 (`permission_denied`).
 */
export type AuthorizeResult = boolean | 'unauthenticated' | 'forbidden';

/** Options of {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /**
   * The tools browsers may call, by name, or `'*'` for every tool of the
   * adapter. Required: a browser is an untrusted client. Any other tool is
   * answered with `tool_not_found`, as if it did not exist.
   */
  readonly tools: readonly string[] | '*';
  /** Decides, before anything runs, whether a request may go on; sync or async. Default: every request may. */
  readonly authorize?: (req: IncomingMessage) => AuthorizeResult | Promise<AuthorizeResult>;
  /** The largest request body read, in bytes; larger ones get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** How long a client may take to send its request body, in ms; slower ones get 408. Default 10000. */
  readonly bodyTimeout?: number;
  /**
   * Streams this handler runs at once (including those waiting for a reconnection, and those whose
   * body is still being read); past it, 503 with `Retry-After`. Default 100.
   */
  readonly maxConcurrentStreams?: number;
  /**
   * `POST /execute` calls this handler runs at once, from the moment their body
   * starts to be read until they answer; past it, 503 with `Retry-After`. Default 100.
   */
  readonly maxConcurrentCalls?: number;
  /** Milliseconds between heartbeat comments on a stream response, so that proxies keep it open; 0: none. Default 15000. */
  readonly heartbeatInterval?: number;
  /** Send Python tracebacks to clients (`pythonTraceback`). Default false: they often reveal paths and code. */
  readonly exposeTracebacks?: boolean;
  /**
   * Milliseconds a stream whose client went away keeps running, waiting for
   * `GET /stream/resume/:streamId`. Default 0: a disconnect cancels the call at once.
   */
  readonly resumeWindow?: number;
  /**
   * Bytes of events a resumable stream keeps for a client that reconnects;
   * past it, while no client is connected, the call is cancelled. Default 8 MiB.
   */
  readonly resumeBufferBytes?: number;
  /**
   * The longest call, in ms; a client's own `timeout` may only shorten it.
   * Default: the pool's default call timeout (300000).
   */
  readonly callTimeout?: number;
  /**
   * A path prefix to strip before matching routes, for servers that do not
   * strip their mount path themselves (Fastify). Express's `app.use(path, handler)` needs none.
   * Paths outside it are no route (404, or `next()` as middleware), even one that is a route's without the prefix (`/tools`).
   */
  readonly basePath?: string;
}

/** The options with their defaults, checked. */
export interface ResolvedHttpHandlerOptions {
  readonly tools: ReadonlySet<string> | '*';
  readonly authorize: HttpHandlerOptions['authorize'];
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly maxConcurrentStreams: number;
  readonly maxConcurrentCalls: number;
  readonly heartbeatIntervalMs: number;
  readonly exposeTracebacks: boolean;
  readonly resumeWindowMs: number;
  readonly resumeBufferBytes: number;
  readonly callTimeoutMs: number;
  readonly basePath: string;
}

const MIB = 1024 * 1024;

function invalid(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', `createHttpHandler: ${message}`);
}

function count(value: number | undefined, name: string, fallback: number, { zero = false } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zero && value === 0)) {
    throw invalid(`${name} must be a ${zero ? 'non-negative' : 'positive'} finite number, got ${String(value)}`);
  }
  return value;
}

/** A count of milliseconds that a timer runs for: timers fire at once past MAX_TIMER_MS (a heartbeat every millisecond). */
function duration(value: number | undefined, name: string, fallback: number, { zero = false } = {}): number {
  const ms = count(value, name, fallback, { zero });
  if (ms > MAX_TIMER_MS) throw invalid(`${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${ms}`);
  return ms;
}

function allowList(tools: unknown): ReadonlySet<string> | '*' {
  if (tools === '*') return '*';
  if (!Array.isArray(tools)) {
    throw invalid("`tools` is required: the names of the tools browsers may call, or '*' for every tool");
  }
  for (const name of tools) {
    if (typeof name !== 'string' || name === '') throw invalid('`tools` must hold tool names (non-empty strings)');
    if (name === '*') throw invalid("to expose every tool, pass tools: '*' itself, not inside a list");
  }
  return new Set(tools as string[]);
}

export function resolveHttpHandlerOptions(options: HttpHandlerOptions): ResolvedHttpHandlerOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options are required, with at least `tools`');
  if (options.authorize !== undefined && typeof options.authorize !== 'function') throw invalid('`authorize` must be a function');
  const basePath = options.basePath ?? '';
  if (typeof basePath !== 'string' || (basePath !== '' && !basePath.startsWith('/'))) {
    throw invalid(`basePath must be a path starting with '/', got ${String(basePath)}`);
  }
  return {
    tools: allowList(options.tools),
    authorize: options.authorize,
    maxBodyBytes: count(options.maxBodyBytes, 'maxBodyBytes', MIB),
    bodyTimeoutMs: duration(options.bodyTimeout, 'bodyTimeout', 10_000),
    maxConcurrentStreams: count(options.maxConcurrentStreams, 'maxConcurrentStreams', 100),
    maxConcurrentCalls: count(options.maxConcurrentCalls, 'maxConcurrentCalls', 100),
    heartbeatIntervalMs: duration(options.heartbeatInterval, 'heartbeatInterval', 15_000, { zero: true }),
    exposeTracebacks: options.exposeTracebacks === true,
    resumeWindowMs: duration(options.resumeWindow, 'resumeWindow', 0, { zero: true }),
    resumeBufferBytes: count(options.resumeBufferBytes, 'resumeBufferBytes', 8 * MIB),
    callTimeoutMs: duration(options.callTimeout, 'callTimeout', DEFAULT_TIMEOUT_MS),
    basePath: basePath.replace(/\/+$/, ''),
  };
}
