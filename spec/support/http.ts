import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface TestServer {
  readonly server: Server;
  readonly baseUrl: string;
  readonly port: number;
  /** The connections of the stream responses (`POST /stream/...`, `GET /stream/resume/...`) so far, newest last, for specs that cut them. */
  readonly streamSockets: Socket[];
  /** Cuts the connection of the stream response that writes the `chunk` event of this index, right after it writes it (once; cuts due in the same write make one). */
  cutAfterChunk(index: number): void;
  close(): Promise<void>;
}

/** Serves `listener` on a free loopback port; `close()` also ends open connections. */
export async function serve(listener: RequestListener): Promise<TestServer> {
  const streamSockets: Socket[] = [];
  const cuts = new Set<number>();
  const server = createServer((req, res) => {
    if (req.method !== 'DELETE' && /(^|\/)stream\//.test(req.url ?? '')) {
      streamSockets.push(req.socket);
      // Cut at a chunk the server has surely not finished sending after, whatever the page has shown by then.
      const write = res.write.bind(res) as (data: string | Uint8Array, ...rest: unknown[]) => boolean;
      res.write = ((data: string | Uint8Array, ...rest: unknown[]) => {
        const written = write(data, ...rest);
        // One write may carry several chunk events: any of them may be a cut, and the one cut uses them all.
        const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
        const ids = Array.from(text.matchAll(/^id: (\d+)$/gm), (match) => Number(match[1]));
        if (ids.filter((id) => cuts.delete(id)).length > 0) setImmediate(() => req.socket.destroy());
        return written;
      }) as typeof res.write;
    }
    listener(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    streamSockets,
    cutAfterChunk: (index) => void cuts.add(index),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** POSTs JSON (or the text given) and returns the response. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

export interface SseEvent {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly data: unknown;
}

/** Every event and comment of a whole event-stream response. */
export async function readEvents(response: Response): Promise<{ events: SseEvent[]; comments: string[] }> {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (event: EventSourceMessage) => events.push({ event: event.event, id: event.id, data: JSON.parse(event.data) }),
    onComment: (comment) => comments.push(comment),
  });
  parser.feed(await response.text());
  return { events, comments };
}

/** A request sent by hand, for bodies that fetch cannot send (slow, cut, huge). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> },
): { req: ReturnType<typeof request>; response: Promise<IncomingMessage & { text: Promise<string> }> } {
  const req = request(url, { method: options.method ?? 'POST', headers: options.headers ?? {} });
  const response = new Promise<IncomingMessage & { text: Promise<string> }>((resolve, reject) => {
    req.once('response', (res) => {
      const text = new Promise<string>((done) => {
        let body = '';
        res.setEncoding('utf8').on('data', (part: string) => (body += part));
        res.once('end', () => done(body));
        res.once('close', () => done(body));
      });
      resolve(Object.assign(res, { text }));
    });
    req.once('error', reject);
  });
  return { req, response };
}
