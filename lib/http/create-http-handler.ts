import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Chunk } from '../chunk.js';
import { SnakepitError } from '../errors.js';
import type { SnakepitPool } from '../snakepit-pool.js';
import type { ToolInfo } from '../public-types.js';
import { resolveHttpHandlerOptions, type HttpHandlerOptions, type ResolvedHttpHandlerOptions } from './http-handler-options.js';
import { httpStatusOf, refusal, sendError, sendJson } from './http-response.js';
import { HttpStream } from './http-stream.js';
import { readCallBody, type CallBody } from './read-call-body.js';
import { matchRoute, type Route } from './routes.js';
import { quote } from '../quoted-input.js';
import { resultBody } from './wire-encoding.js';
import { withIncomingTrace } from '../telemetry/incoming-trace.js';

/**
 * A Node request listener, `(req, res, next?)`: for `http.createServer`, as
 * Express middleware (`next` gets the requests it has no route for), or
 * for Fastify through `reply.raw`.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

/** Seconds a client refused for too many streams is told to wait. */
const RETRY_AFTER_SECONDS = '1';

/** Statuses after which the connection is closed rather than reused: the client may still be sending. */
const CLOSING_STATUSES = new Set([408, 413]);

/**
 * Serves a pool to browsers over HTTP:
 *
 * - `POST /stream/:tool` with `{ "args"?: {...}, "sessionId"?: "..." }`: the
 *   chunks as server-sent events (`stream` first, with the stream id, then one
 *   `chunk` per chunk, or an `error`); the client going away cancels the call.
 * - `POST /execute/:tool`: `{ "result": ... }`, or the error as JSON with its status.
 * - `GET /tools`: `{ "tools": [...] }`, the exposed tools only.
 * - `GET /stream/resume/:streamId` (with `Last-Event-ID`): the rest of a
 *   stream whose connection dropped, within `resumeWindow`.
 * - `DELETE /stream/:streamId`: cancels a stream kept for a reconnection.
 *
 * Only the tools in `options.tools` can be reached; a browser is an untrusted client.
 */
export function createHttpHandler(pool: SnakepitPool, options: HttpHandlerOptions): HttpHandler {
  const config = resolveHttpHandlerOptions(options);
  const handler = new HttpHandlerRoutes(pool, config);
  return (req, res, next) => {
    // A page's trace context (the traceparent header) is the parent of the pool calls it starts.
    withIncomingTrace(req.headers, () => handler.handle(req, res, next)).catch((error: unknown) => {
      // A body left unread (refused before reading, too large, too slow) is not read to its end: the connection closes.
      const closing = !req.complete || CLOSING_STATUSES.has(httpStatusOf(error));
      sendError(res, error, config.exposeTracebacks, closing ? { Connection: 'close' } : {});
    });
  };
}

/**
 * Pulls a pooled stream into `onChunk`, waiting while it says so; the pull
 * loop holds the worker back. Aborting leaves the loop, which unsubscribes
 * from the pool: the call ends as cancelled and the generator is closed.
 */
async function pullChunks(chunks: AsyncIterableIterator<Chunk>, onChunk: (chunk: Chunk) => Promise<void> | undefined, signal: AbortSignal) {
  const leave = () => void chunks.return?.();
  if (signal.aborted) return leave();
  signal.addEventListener('abort', leave, { once: true });
  try {
    for await (const chunk of chunks) {
      const wait = onChunk(chunk);
      if (wait !== undefined) await wait;
    }
  } finally {
    signal.removeEventListener('abort', leave);
  }
}

/** True when the client left before the response could start. */
function gone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}

class HttpHandlerRoutes {
  private readonly streams = new Map<string, HttpStream>();
  // Requests counted before their body is read: a body being read holds up to maxBodyBytes of the host's memory.
  private streamsReadingBodies = 0;
  private executing = 0;

  constructor(
    private readonly pool: SnakepitPool,
    private readonly config: ResolvedHttpHandlerOptions,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, next: ((error?: unknown) => void) | undefined): Promise<void> {
    // As middleware (Express), paths are relative to the mount point; called from a server's own routing, a prefix is allowed.
    const route = matchRoute(req.method ?? 'GET', req.url ?? '/', this.config.basePath, next === undefined && this.config.basePath === '');
    if (route.kind === 'unknown' && next !== undefined) {
      next();
      return;
    }
    if (route.kind === 'unknown') throw refusal(404, 'invalid_arguments', `no route for ${route.method} ${quote(route.path)}`, route.hint);
    if (route.kind === 'wrong-method') {
      res.setHeader('Allow', route.allow);
      throw refusal(405, 'invalid_arguments', `${route.method} is not allowed here; use ${route.allow}`);
    }
    await this.authorize(req);
    await this.serve(route, req, res);
  }

  private async serve(route: Exclude<Route, { kind: 'unknown' | 'wrong-method' }>, req: IncomingMessage, res: ServerResponse) {
    switch (route.kind) {
      case 'tools':
        sendJson(res, 200, { tools: this.exposedTools() });
        return;
      case 'stream':
        return this.stream(route.tool, req, res);
      case 'execute':
        return this.execute(route.tool, req, res);
      case 'resume':
        return this.resume(route.streamId, req, res);
      case 'cancel':
        this.streamById(route.streamId).cancel();
        res.writeHead(204).end();
        return;
    }
  }

  private async authorize(req: IncomingMessage): Promise<void> {
    const { authorize } = this.config;
    if (authorize === undefined) return;
    let verdict: unknown;
    try {
      verdict = await authorize(req);
    } catch {
      throw new SnakepitError('transport_error', 'the server could not check the request (authorize threw)');
    }
    if (verdict === true) return;
    if (verdict === false || verdict === 'unauthenticated') throw refusal(401, 'unauthenticated', 'authentication required');
    if (verdict === 'forbidden') throw refusal(403, 'permission_denied', 'not allowed');
    throw new SnakepitError('transport_error', 'the server could not check the request (authorize gave no verdict)');
  }

  private exposedTools(): ToolInfo[] {
    const { tools } = this.config;
    return this.pool.tools().filter((tool) => tools === '*' || tools.has(tool.name));
  }

  /** The exposed tool of that name, called the right way; throws the refusal otherwise. */
  private tool(name: string, streaming: boolean): ToolInfo {
    const exposed = this.exposedTools();
    const tool = exposed.find((candidate) => candidate.name === name);
    if (tool === undefined) {
      const names = exposed.map((candidate) => candidate.name).sort();
      throw new SnakepitError('tool_not_found', `no tool named ${quote(name)}`, {
        hint: `available tools: ${names.join(', ') || 'none'}`,
      });
    }
    if (streaming && !tool.supportsStreaming) {
      throw new SnakepitError('not_streaming', `tool ${quote(name)} does not support streaming`, {
        hint: `call it with POST /execute/${encodeURIComponent(name)}`,
      });
    }
    if (!streaming && tool.supportsStreaming) {
      throw new SnakepitError('not_unary', `tool ${quote(name)} is a streaming tool`, {
        hint: `call it with POST /stream/${encodeURIComponent(name)}`,
      });
    }
    return tool;
  }

  private checkCapacity(res: ServerResponse, running: number, limit: number, what: string): void {
    if (running < limit) return;
    res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
    throw refusal(503, 'pool_saturated', `this server already runs ${limit} ${what}; try again shortly`);
  }

  private checkStreamCapacity(res: ServerResponse): void {
    this.checkCapacity(res, this.streams.size + this.streamsReadingBodies, this.config.maxConcurrentStreams, 'streams');
  }

  private callOptions(body: CallBody, signal?: AbortSignal) {
    return {
      timeout: Math.min(body.timeout ?? this.config.callTimeoutMs, this.config.callTimeoutMs),
      ...(body.sessionId === undefined ? {} : { sessionId: body.sessionId }),
      ...(signal === undefined ? {} : { signal }),
    };
  }

  private async stream(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const tool = this.tool(name, true);
    this.checkStreamCapacity(res);
    this.streamsReadingBodies++;
    let body: CallBody;
    try {
      body = await readCallBody(req, this.config);
    } finally {
      this.streamsReadingBodies--;
    }
    if (gone(res)) return;
    this.checkStreamCapacity(res);
    const id = randomBytes(16).toString('base64url');
    const stream = new HttpStream(id, this.config, () => this.streams.delete(id));
    this.streams.set(id, stream);
    stream.start(res, (onChunk, signal, onWorker) =>
      pullChunks(this.pool.iterate(tool.name, body.args, { ...this.callOptions(body), onWorker }), onChunk, signal),
    );
  }

  private async execute(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const tool = this.tool(name, false);
    this.checkCapacity(res, this.executing, this.config.maxConcurrentCalls, 'calls');
    this.executing++;
    // The client going away cancels the call.
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', onClose);
    try {
      const body = await readCallBody(req, this.config);
      if (gone(res)) return;
      const result = await this.pool.execute(tool.name, body.args, this.callOptions(body, controller.signal));
      if (!gone(res)) sendJson(res, 200, resultBody(result));
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      res.off('close', onClose);
      this.executing--;
    }
  }

  private streamById(streamId: string): HttpStream {
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      throw refusal(404, 'invalid_arguments', 'no such stream: it ended, its resume window passed, or it never existed');
    }
    return stream;
  }

  private resume(streamId: string, req: IncomingMessage, res: ServerResponse): void {
    // Without a window a dropped connection cancels its stream: a live one may only be read where it started.
    if (this.config.resumeWindowMs === 0) {
      throw refusal(404, 'invalid_arguments', 'this server keeps no stream for a reconnection (its resumeWindow is 0)');
    }
    const header = req.headers['last-event-id'];
    const lastEventId = Array.isArray(header) ? header[0] : header;
    if (lastEventId !== undefined && !/^(-1|\d{1,15})$/.test(lastEventId.trim())) {
      throw refusal(400, 'invalid_arguments', `Last-Event-ID must be the index of the last chunk received, got ${quote(lastEventId)}`);
    }
    this.streamById(streamId).attach(res, lastEventId === undefined ? -1 : Number(lastEventId.trim()));
  }
}
