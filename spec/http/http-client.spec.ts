import { createServer } from 'node:http';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHttpClient, SnakepitHttpError, type HttpClientOptions } from '../../lib/browser/index.js';
import { createHttpHandler, type HttpHandlerOptions, type SnakepitPool } from '../../lib/index.js';
import { postJson, readEvents, serve, type TestServer } from '../support/http.js';
import { markerEvents, markerPath, producedCount, rejectionOf, startTestPool, valueOnceStable, waitUntil } from '../support/pools.js';

describe('createHttpClient, in Node, against the handler', () => {
  let pool: SnakepitPool;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    ({ pool } = await startTestPool({ adapter: 'browser_adapter.BrowserAdapter', size: 2 }));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await waitUntil(() => pool.stats().busy === 0, 5_000, 'every worker to be idle again');
  });
  afterAll(() => pool.close());

  async function start(options: Partial<HttpHandlerOptions> = {}): Promise<TestServer> {
    const server = await serve(createHttpHandler(pool, { tools: '*', ...options }));
    servers.push(server);
    return server;
  }

  async function client(options: Partial<HttpHandlerOptions> = {}, clientOptions: Partial<HttpClientOptions> = {}) {
    const server = await start(options);
    return { server, client: createHttpClient({ baseUrl: server.baseUrl, ...clientOptions }) };
  }

  describe('stream', () => {
    it('is cold: nothing is requested before subscription, and each subscription runs the tool once', async () => {
      const server = await start();
      const requests: string[] = [];
      const counting = createHttpClient({
        baseUrl: server.baseUrl,
        fetch: (input, init) => {
          requests.push(input instanceof Request ? input.url : input.toString());
          return fetch(input, init);
        },
      });
      const stream = counting.stream('count', { n: 2 });
      expect(requests).toEqual([]);

      await lastValueFrom(stream);
      await lastValueFrom(stream);
      expect(requests).toEqual([`${server.baseUrl}/stream/count`, `${server.baseUrl}/stream/count`]);
    });

    it('aborts the request on unsubscribe, and the generator closes', async () => {
      const { client: http } = await client();
      const marker = markerPath();
      await firstValueFrom(http.stream('ticker', { marker }).pipe(take(3), toArray()));

      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    });

    it('fails with cancelled when its signal is aborted, and with timeout past its timeout; the generator closes', async () => {
      const { client: http } = await client();
      const aborted = markerPath();
      const controller = new AbortController();
      const cancelled = rejectionOf(
        http.executeStream('ticker', { marker: aborted }, () => controller.abort(), { signal: controller.signal }),
      );
      expect(await cancelled).toMatchObject({ code: 'cancelled' });
      await waitUntil(() => markerEvents(aborted).includes('closed'), 5_000, 'the aborted generator to close');

      const timed = markerPath();
      expect(await rejectionOf(lastValueFrom(http.stream('ticker', { marker: timed }, { timeout: 200 })))).toMatchObject({
        code: 'timeout',
      });
      await waitUntil(() => markerEvents(timed).includes('closed'), 5_000, 'the timed-out generator to close');
    });

    it('fails at its timeout, or as its signal aborts, while an executeStream callback is busy, and calls back no more', async () => {
      const { client: http } = await client();
      for (const [options, code] of [
        [() => ({ timeout: 1_000 }), 'timeout'],
        [() => ({ signal: AbortSignal.timeout(1_000) }), 'cancelled'],
      ] as const) {
        // A callback that never settles (it is called once at most: the first chunk may come after the deadline)...
        let calls = 0;
        const never = rejectionOf(http.executeStream('count', { n: 10 }, () => new Promise<void>(() => calls++), options()));
        expect(await never).toMatchObject({ code });
        expect(calls).toBeLessThanOrEqual(1);

        // ...and callbacks that take longer, over the whole stream, than the deadline allows.
        const slow = http.executeStream('count', { n: 10 }, () => new Promise<void>((resolve) => setTimeout(resolve, 250)), options());
        expect(await rejectionOf(slow)).toMatchObject({ code });
      }
    });

    it('rebuilds a large numpy array exactly, however its base64 was cut into pieces', async () => {
      const { client: http } = await client();
      const [chunk] = await lastValueFrom(
        http.stream<{ data: Float64Array }>('arrays', { dtypes: ['float64'], n: 100_001 }).pipe(toArray()),
      );

      expect(chunk?.data.data).toEqual(Float64Array.from({ length: 100_001 }, (_, i) => i));
    });

    it('refuses arguments that JSON would change, before any request', async () => {
      const http = createHttpClient({ baseUrl: 'http://127.0.0.1:9', fetch: () => Promise.reject(new Error('no request expected')) });

      for (const args of [{ a: Number.NaN }, { a: 1n }, { a: new Map() }, { a: [undefined] }, { a: () => 1 }]) {
        expect(await rejectionOf(lastValueFrom(http.stream('count', args)))).toMatchObject({ code: 'invalid_arguments' });
      }
    });

    it('refuses an executeStream without a callback, before any request', async () => {
      const { server, client: http } = await client();

      const error = await rejectionOf(http.executeStream('ticker', {}, undefined as unknown as () => void));

      expect(error).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(/^executeStream needs a callback/) });
      expect(server.streamSockets).toEqual([]);
    });

    it('refuses a retry delay no timer can wait for (one fires at once past 2^31 - 1 ms)', () => {
      for (const delay of [2 ** 31, 1e12]) {
        expect(() => createHttpClient({ baseUrl: '/api', retry: { attempts: 3, delay } })).toThrow(
          expect.objectContaining({
            code: 'invalid_arguments',
            message: expect.stringMatching(/retry\.delay must be .* at most 2147483647/),
          }),
        );
      }
    });

    it('refuses a timeout no timer can wait for (one fires at once past 2^31 - 1 ms), before any request', async () => {
      const http = createHttpClient({ baseUrl: 'http://127.0.0.1:9', fetch: () => Promise.reject(new Error('no request expected')) });

      for (const timeout of [2 ** 31, Infinity, 0]) {
        expect(await rejectionOf(http.execute('add', { a: 1, b: 2 }, { timeout }))).toMatchObject({
          code: 'invalid_arguments',
          message: expect.stringMatching(/^timeout must be a positive number of milliseconds, at most 2147483647/),
        });
      }
    });

    it('refuses what JSON would drop or change, naming where it is, as the pool does', async () => {
      const http = createHttpClient({ baseUrl: 'http://127.0.0.1:9', fetch: () => Promise.reject(new Error('no request expected')) });

      for (const [args, path] of [
        [{ p: { q: [1, Number.NaN] } }, 'arguments.p.q[1]'],
        [{ p: [{ f: () => 1 }] }, 'arguments.p[0].f'],
        [{ m: { n: new Map() } }, 'arguments.m.n'],
        [{ u: [[undefined]] }, 'arguments.u[0][0]'],
        [{ x: Number.POSITIVE_INFINITY }, 'arguments.x'],
        [{ d: [new Date(Number.NaN)] }, 'arguments.d[0]'],
        [{ t: { toJSON: () => ({ n: Number.NaN }) } }, 'arguments.t.n'],
        [{ p: { q: Promise.resolve(1) } }, 'arguments.p.q'],
        [{ r: /x/ }, 'arguments.r'],
        [{ e: new TypeError('x') }, 'arguments.e'],
        // eslint-disable-next-line no-sparse-arrays
        [{ s: [1, , 3] }, 'arguments.s[1]'],
      ] as const) {
        const starts = expect.stringMatching(new RegExp(`^${path.replace(/[.[\]]/g, '\\$&')} is `));
        expect(await rejectionOf(lastValueFrom(http.stream('count', args)))).toMatchObject({ code: 'invalid_arguments', message: starts });
        expect(await rejectionOf(pool.execute('count', args))).toMatchObject({ code: 'invalid_arguments', message: starts });
      }
    });

    it('refuses arguments that refer back to themselves, however many times, naming where, as the pool does', async () => {
      const http = createHttpClient({ baseUrl: 'http://127.0.0.1:9', fetch: () => Promise.reject(new Error('no request expected')) });
      // Each object refers to itself twice: a walk that does not track its path makes 2^depth visits.
      const twice: Record<string, unknown> = {};
      twice.a = twice;
      twice.b = twice;
      const withBinary: Record<string, unknown> = { blob: new Uint8Array([1]) };
      withBinary.a = [withBinary];
      withBinary.b = withBinary;

      for (const [args, message] of [
        [{ p: twice }, /^arguments\.p\.a refers back to itself \(a cycle\)/],
        [{ p: withBinary }, /^arguments\.p\.a\[0\] refers back to itself \(a cycle\)/],
      ] as const) {
        const error = await rejectionOf(lastValueFrom(http.stream('count', args)));
        expect(error).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(message) });
        expect(await rejectionOf(pool.execute('count', args))).toMatchObject({
          code: 'invalid_arguments',
          message: expect.stringMatching(message),
        });
      }
    });

    it('pauses the tool while an executeStream callback is busy', async () => {
      const { client: http } = await client();
      const progress = markerPath();
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let received = 0;
      const done = http.executeStream('produce', { n: 50_000, size: 1000, progress }, async () => {
        received += 1;
        if (received === 1) await held;
      });
      const stalled = await valueOnceStable(() => producedCount(progress), 300);
      release();
      await done;

      expect(stalled).toBeLessThan(25_000);
      expect(received).toBe(50_001);
    });
  });

  describe('errors', () => {
    it('maps statuses without an error body: 401, 403, 413, 415, 503, and http_error with the status for others', async () => {
      const statuses = [401, 403, 413, 415, 503, 502, 404];
      const codes: [number, string, number | undefined][] = [];
      for (const status of statuses) {
        const http = createHttpClient({
          baseUrl: 'http://proxy.invalid',
          fetch: () => Promise.resolve(new Response('<html>nope</html>', { status })),
        });
        const error = await rejectionOf(http.execute('add'));
        codes.push([status, error.code, (error as SnakepitHttpError).status]);
      }

      expect(codes).toEqual([
        [401, 'unauthenticated', 401],
        [403, 'permission_denied', 403],
        [413, 'invalid_arguments', 413],
        [415, 'invalid_arguments', 415],
        [503, 'pool_saturated', 503],
        [502, 'http_error', 502],
        [404, 'http_error', 404],
      ]);
    });

    it('gives network_error when the server cannot be reached', async () => {
      const closed = await serve((_req, res) => res.end());
      await closed.close();
      const http = createHttpClient({ baseUrl: closed.baseUrl });

      expect(await rejectionOf(http.execute('add'))).toMatchObject({ code: 'network_error' });
      expect(await rejectionOf(lastValueFrom(http.stream('count', { n: 1 })))).toMatchObject({ code: 'network_error' });
    });

    it('gives the server its own errors, typed, with the HTTP status on the error', async () => {
      const { client: http } = await client({ tools: ['add'], maxBodyBytes: 100 });

      expect(await rejectionOf(http.execute('whoami'))).toMatchObject({
        code: 'tool_not_found',
        status: 404,
        hint: 'available tools: add',
      });
      expect(await rejectionOf(http.execute('add', { a: 'x'.repeat(200), b: 1 }))).toMatchObject({
        code: 'invalid_arguments',
        status: 413,
      });
      expect(await rejectionOf(http.execute('add', { a: 1 }))).toMatchObject({ code: 'invalid_arguments', status: 400 });
    });

    it('sends its headers (static or from a function) and uses the fetch it is given', async () => {
      const seen: (string | undefined)[] = [];
      const server = await serve(
        createHttpHandler(pool, {
          tools: '*',
          authorize: (req) => {
            seen.push(req.headers.authorization);
            return req.headers.authorization === 'Bearer t';
          },
        }),
      );
      servers.push(server);

      await expect(
        createHttpClient({ baseUrl: server.baseUrl, headers: { Authorization: 'Bearer t' } }).execute('add', { a: 1, b: 2 }),
      ).resolves.toBe(3);
      await expect(
        createHttpClient({ baseUrl: server.baseUrl, headers: () => Promise.resolve({ Authorization: 'Bearer t' }) }).execute('add', {
          a: 2,
          b: 2,
        }),
      ).resolves.toBe(4);
      expect(await rejectionOf(createHttpClient({ baseUrl: server.baseUrl }).execute('add', { a: 1, b: 2 }))).toMatchObject({
        code: 'unauthenticated',
        status: 401,
      });
      expect(seen).toEqual(['Bearer t', 'Bearer t', undefined]);
    });

    it('gives timeout, cancelled and network_error when a result stops or breaks while it is read, not http_error', async () => {
      // Status and headers, then part of the JSON; then nothing, or the connection goes.
      const halfway = await serve((req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"result": [1, 2, ');
        if (req.url?.includes('/execute/drop')) setTimeout(() => res.destroy(), 50);
      });
      servers.push(halfway);
      const http = createHttpClient({ baseUrl: halfway.baseUrl });

      expect(await rejectionOf(http.execute('stall', {}, { timeout: 300 }))).toMatchObject({ code: 'timeout' });
      expect(await rejectionOf(http.execute('stall', {}, { signal: AbortSignal.timeout(300) }))).toMatchObject({ code: 'cancelled' });
      expect(await rejectionOf(http.tools({ timeout: 300 }))).toMatchObject({ code: 'timeout' });
      expect(await rejectionOf(http.execute('drop'))).toMatchObject({ code: 'network_error' });
    });

    it('fails with http_error when the server is not ours', async () => {
      const other = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end('event: chunk\ndata: not json\n\n');
      });
      servers.push(other);

      expect(await rejectionOf(lastValueFrom(createHttpClient({ baseUrl: other.baseUrl }).stream('count')))).toMatchObject({
        code: 'http_error',
      });
    });
  });

  describe('resumable streams', () => {
    /** Cuts the connection of the server's latest stream response. */
    const cut = (server: TestServer) => {
      server.streamSockets.at(-1)?.destroy();
    };

    /** Starts `ticker` with a marker, reads its first bytes, and cuts the connection; returns the stream id. */
    async function tickerCut(server: TestServer, marker: string, interval: number): Promise<string> {
      const live = await postJson(`${server.baseUrl}/stream/ticker`, { args: { marker, interval } });
      await live.body!.getReader().read();
      // The first bytes are the `stream` event, written before the pooled call starts: cut once the tool runs.
      await waitUntil(() => markerEvents(marker).includes('started'), 5_000, 'the tool to start');
      cut(server);
      return live.headers.get('snakepit-stream-id')!;
    }

    it('resumes from Last-Event-ID with exactly the chunks missed', async () => {
      const server = await start({ resumeWindow: 5_000 });
      const first = await postJson(`${server.baseUrl}/stream/sequence`, { args: { n: 5 } });
      const streamId = first.headers.get('snakepit-stream-id')!;
      await readEvents(first);
      // The stream ended and its response was written whole, which says nothing of what reached the client: it stays
      // resumable for the window, until the client says it has it all.
      const tail = await fetch(`${server.baseUrl}/stream/resume/${streamId}`, { headers: { 'Last-Event-ID': '2' } });
      expect((await readEvents(tail)).events.slice(1).map((event) => Number(event.id))).toEqual([3, 4, 5]);
      expect((await fetch(`${server.baseUrl}/stream/${streamId}`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${server.baseUrl}/stream/resume/${streamId}`)).status).toBe(404);

      const marker = markerPath();
      const controller = new AbortController();
      const live = await postJson(
        `${server.baseUrl}/stream/stream_progress`,
        { args: { steps: 40, delay: 0.01, marker } },
        {},
        controller.signal,
      );
      const id = live.headers.get('snakepit-stream-id')!;
      const reader = live.body!.getReader();
      const decoder = new TextDecoder();
      let received = '';
      while (!received.includes('id: 9\n')) received += decoder.decode(((await reader.read()) as { value?: Uint8Array }).value);
      cut(server);

      const resumed = await fetch(`${server.baseUrl}/stream/resume/${id}`, { headers: { 'Last-Event-ID': '9' } });
      expect(resumed.headers.get('snakepit-stream-id')).toBe(id);
      const { events } = await readEvents(resumed);
      expect(events[0]).toMatchObject({ event: 'stream', data: { streamId: id } });
      expect(events.slice(1).map((event) => Number(event.id))).toEqual(Array.from({ length: 31 }, (_, i) => i + 10));
      expect(markerEvents(marker)).toEqual(['started', 'closed']);
    });

    it('resumes a stream whose connection dropped after the server wrote its end, with the chunks still on their way, and then releases it', async () => {
      let streamId: string | undefined;
      // Hands the client the stream's response up to its first chunk event, once the server has written all of it.
      const dropsTheTail: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method !== 'POST') return response;
        streamId = response.headers.get('snakepit-stream-id')!;
        const text = await response.text();
        const firstChunkEnd = text.indexOf('\n\n', text.indexOf('event: chunk')) + 2;
        return new Response(text.slice(0, firstChunkEnd), { status: response.status, headers: response.headers });
      };
      const { server, client: http } = await client({ resumeWindow: 60_000 }, { retry: { attempts: 2, delay: 10 }, fetch: dropsTheTail });

      const chunks = await lastValueFrom(http.stream<{ seq: number }>('sequence', { n: 5 }).pipe(toArray()));

      expect(chunks.map((chunk) => [chunk.index, chunk.data])).toEqual([
        [0, { seq: 0 }],
        [1, { seq: 1 }],
        [2, { seq: 2 }],
        [3, { seq: 3 }],
        [4, { seq: 4 }],
        [5, null],
      ]);
      // Having the final chunk, the client tells the server it may forget the stream.
      await vi.waitFor(async () => expect((await fetch(`${server.baseUrl}/stream/resume/${streamId}`)).status).toBe(404), {
        timeout: 5_000,
      });
    });

    it('resumes a stream whose connection dropped before its first event was read, knowing it from the response headers', async () => {
      // The connection drops once the headers are in: a browser then errors the body and drops what it had not read yet.
      const dropsTheBody: typeof fetch = async (input, init) => {
        if (init?.method !== 'POST') return fetch(input, init);
        const connection = new AbortController();
        const response = await fetch(input, { ...init, signal: connection.signal });
        connection.abort();
        const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.error(new TypeError('network error')) });
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const { client: http } = await client({ resumeWindow: 5_000 }, { retry: { attempts: 2, delay: 10 }, fetch: dropsTheBody });
      const marker = markerPath();

      const chunks = await lastValueFrom(http.stream<{ step: number } | null>('stream_progress', { steps: 5, marker }).pipe(toArray()));

      expect(chunks.map((chunk) => chunk.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(markerEvents(marker)).toEqual(['started', 'closed']);
    });

    it('refuses a Last-Event-ID past what was sent', async () => {
      const server = await start({ resumeWindow: 5_000 });
      const marker = markerPath();
      const id = await tickerCut(server, marker, 0.05);

      const resumed = await fetch(`${server.baseUrl}/stream/resume/${id}`, { headers: { 'Last-Event-ID': '1000000' } });
      expect(resumed.status).toBe(400);
      await fetch(`${server.baseUrl}/stream/${id}`, { method: 'DELETE' });
      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    });

    it('cancels the call once the window passes without a reconnection', async () => {
      const server = await start({ resumeWindow: 300 });
      const marker = markerPath();
      const id = await tickerCut(server, marker, 0.01);
      const cutAt = Date.now();

      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
      expect(Date.now() - cutAt).toBeGreaterThanOrEqual(250);
      expect((await fetch(`${server.baseUrl}/stream/resume/${id}`)).status).toBe(404);
    });

    it('cancels the call at once when what it keeps for a reconnection passes resumeBufferBytes', async () => {
      const server = await start({ resumeWindow: 60_000, resumeBufferBytes: 64 * 1024 });
      const marker = markerPath();
      await tickerCut(server, marker, 0);

      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    });

    it('cancels at once, without waiting for the window, when the client unsubscribes', async () => {
      const { client: http } = await client({ resumeWindow: 60_000 }, { retry: { attempts: 2, delay: 10 } });
      const marker = markerPath();
      await firstValueFrom(http.stream('ticker', { marker }).pipe(take(3), toArray()));

      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    });

    it('cancels at once when an executeStream callback throws', async () => {
      const { client: http } = await client({ resumeWindow: 60_000 }, { retry: { attempts: 2, delay: 10 } });
      const marker = markerPath();
      const failure = new Error('the page gave up');
      const error = await http
        .executeStream('ticker', { marker }, (chunk) => {
          if (chunk.index === 2) throw failure;
        })
        .catch((thrown: unknown) => thrown);

      expect(error).toBe(failure);
      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    });

    it('gives network_error when the stream cannot be resumed', async () => {
      const { server, client: http } = await client({}, { retry: { attempts: 3, delay: 10 } });
      const marker = markerPath();
      const error = rejectionOf(
        http.executeStream('ticker', { marker }, (chunk) => {
          if (chunk.index === 2) cut(server);
        }),
      );

      expect(await error).toMatchObject({ code: 'network_error' });
      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    });
  });

  it('keeps the host serving when a handler is mounted on a server that also serves other routes', async () => {
    const handler = createHttpHandler(pool, { tools: ['add'] });
    const server = createServer((req, res) => handler(req, res, () => res.writeHead(418).end('teapot')));
    const wrapped = await serve((req, res) => server.emit('request', req, res));
    servers.push(wrapped);

    expect((await fetch(`${wrapped.baseUrl}/elsewhere`)).status).toBe(418);
    expect(await (await postJson(`${wrapped.baseUrl}/execute/add`, { args: { a: 1, b: 1 } })).json()).toEqual({ result: 2 });
  });
});
