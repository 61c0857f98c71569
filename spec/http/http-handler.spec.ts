import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHandler, type HttpHandlerOptions, type SnakepitPool } from '../../lib/index.js';
import { markerEvents, markerPath, producedCount, startTestPool, valueOnceStable, waitUntil } from '../support/pools.js';
import { postJson, rawRequest, readEvents, serve, type TestServer } from '../support/http.js';

const ADAPTER = { adapter: 'browser_adapter.BrowserAdapter' };
const EXPOSED = ['stream_progress', 'count', 'fail_after', 'ticker', 'produce', 'add', 'sleep', 'binary_chunks', 'sequence'];

describe('createHttpHandler', () => {
  let pool: SnakepitPool;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    ({ pool } = await startTestPool({ ...ADAPTER, size: 2 }));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await waitUntil(() => pool.stats().busy === 0, 5_000, 'every worker to be idle again');
  });
  afterAll(() => pool.close());

  async function start(options: Partial<HttpHandlerOptions> = {}, on: SnakepitPool = pool): Promise<TestServer> {
    const server = await serve(createHttpHandler(on, { tools: EXPOSED, ...options }));
    servers.push(server);
    return server;
  }

  /** A `ticker` stream with its first event read: its call runs until `controller.abort()`. */
  async function liveTicker(baseUrl: string) {
    const marker = markerPath();
    const controller = new AbortController();
    const response = await postJson(`${baseUrl}/stream/ticker`, { args: { marker } }, {}, controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    return { marker, controller, response, reader };
  }

  describe('POST /stream/:tool', () => {
    it('answers an event stream: the stream id, then one chunk event per chunk, ids being the indices', async () => {
      const { baseUrl } = await start();
      const response = await postJson(`${baseUrl}/stream/stream_progress`, { args: { steps: 3 } });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('x-accel-buffering')).toBe('no');
      const streamId = response.headers.get('snakepit-stream-id');
      expect(streamId).toMatch(/^[\w-]{16,}$/);
      const { events } = await readEvents(response);
      expect(events[0]).toEqual({ event: 'stream', id: undefined, data: { streamId, resumeWindowMs: 0 } });
      const chunks = events.slice(1);
      expect(chunks.map((event) => [event.event, event.id])).toEqual([
        ['chunk', '0'],
        ['chunk', '1'],
        ['chunk', '2'],
        ['chunk', '3'],
      ]);
      expect(chunks[0]?.data).toEqual({
        data: { step: 1, total: 3, progress: expect.closeTo(33.33, 1) },
        isFinal: false,
        index: 0,
        chunkId: expect.stringMatching(/-0$/),
        metadata: {},
      });
      expect(chunks[3]?.data).toMatchObject({ data: null, isFinal: true, index: 3, metadata: { synthetic_final: 'true' } });
    });

    it('ends a failing stream with one error event carrying code, message and Python type, without the traceback', async () => {
      const { baseUrl } = await start();
      const { events } = await readEvents(await postJson(`${baseUrl}/stream/fail_after`, { args: { n: 2, message: 'boom' } }));

      expect(events.map((event) => event.event)).toEqual(['stream', 'chunk', 'chunk', 'error']);
      expect(events[3]?.data).toEqual({ code: 'python_error', message: 'boom', pythonType: 'test_adapter.TrainingDiverged' });
    });

    it('sends the traceback only with exposeTracebacks', async () => {
      const { baseUrl } = await start({ exposeTracebacks: true });
      const { events } = await readEvents(await postJson(`${baseUrl}/stream/fail_after`, { args: { n: 0 } }));

      expect(events.at(-1)?.data).toMatchObject({ code: 'python_error', pythonTraceback: expect.stringContaining('TrainingDiverged') });
    });

    it('carries bytes and numpy arrays as base64 with their dtype and shape', async () => {
      const { baseUrl } = await start();
      const { events } = await readEvents(await postJson(`${baseUrl}/stream/binary_chunks`, {}));

      expect(events[1]?.data).toMatchObject({ data: Buffer.from([0, 1, 2, 255]).toString('base64'), encoding: 'bytes' });
      const array = events[2]?.data as { data: string; encoding: string; dtype: string; shape: number[] };
      expect(array).toMatchObject({ encoding: 'ndarray', dtype: 'float64', shape: [2, 3] });
      expect([...new Float64Array(new Uint8Array(Buffer.from(array.data, 'base64')).buffer)]).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('sends heartbeat comments while a tool is quiet', async () => {
      const { baseUrl } = await start({ heartbeatInterval: 20 });
      const { comments } = await readEvents(await postJson(`${baseUrl}/stream/sequence`, { args: { n: 2, delay: 0.15 } }));

      expect(comments.filter((comment) => comment.trim() === 'heartbeat').length).toBeGreaterThanOrEqual(3);
    });

    it('cancels the call at once when the client goes away: the generator closes and the worker is free', async () => {
      const { baseUrl } = await start();
      const { marker, controller } = await liveTicker(baseUrl);
      // The first bytes are the `stream` event, written before the pooled call starts: leave once the tool runs.
      await waitUntil(() => markerEvents(marker).includes('started'), 5_000, 'the tool to start');
      controller.abort();

      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
      await waitUntil(() => pool.stats().busy === 0, 5_000, 'the worker to be free');
    });

    it('stops pulling from the worker while the client does not read (backpressure)', async () => {
      const { baseUrl } = await start();
      const progress = markerPath();
      const controller = new AbortController();
      const response = await postJson(`${baseUrl}/stream/produce`, { args: { n: 100_000, size: 1000, progress } }, {}, controller.signal);
      expect(response.status).toBe(200);
      // Nothing is read: the socket buffers fill, then the handler, the pool and the worker hold. The response
      // starts (the `stream` event) before the pooled call does: measure once the tool runs.
      await waitUntil(() => producedCount(progress) > 0, 10_000, 'the tool to produce');
      const produced = await valueOnceStable(() => producedCount(progress), 300);
      controller.abort();

      expect(produced).toBeGreaterThan(0);
      expect(produced).toBeLessThan(50_000);
    });
  });

  describe('POST /execute/:tool', () => {
    it('answers the result as JSON', async () => {
      const { baseUrl } = await start();
      const response = await postJson(`${baseUrl}/execute/add`, { args: { a: 2, b: 3 } });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ result: 5 });
    });

    it.each([
      ['an unknown tool', '/execute/nope', {}, 404, 'tool_not_found'],
      ['a tool outside the allow-list', '/execute/whoami', {}, 404, 'tool_not_found'],
      ['a streaming tool', '/execute/count', { args: { n: 1 } }, 400, 'not_unary'],
      ['a unary tool as a stream', '/stream/add', { args: { a: 1, b: 2 } }, 400, 'not_streaming'],
      ['wrong keywords', '/execute/add', { args: { a: 1 } }, 400, 'invalid_arguments'],
      ['a call past its timeout', '/execute/sleep', { args: { seconds: 1 }, timeout: 50 }, 504, 'timeout'],
    ])('answers %s with its code and status', async (_, path, body, status, code) => {
      const { baseUrl } = await start({ callTimeout: 60_000 });
      const response = await postJson(`${baseUrl}${path}`, body);

      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ code, message: expect.any(String) });
    });

    it('never names a tool outside the allow-list, in errors or hints', async () => {
      const { baseUrl } = await start({ tools: ['add'] });
      const texts = await Promise.all(
        ['/execute/whoami', '/execute/nope', '/stream/count', '/tools'].map(async (path) =>
          (await (path === '/tools' ? fetch(`${baseUrl}${path}`) : postJson(`${baseUrl}${path}`, {}))).text(),
        ),
      );

      for (const name of ['whoami', 'count', 'ticker', 'echo', 'getenv']) {
        expect(texts.filter((text) => text.includes(`"${name}"`) || text.includes(` ${name}`)).length).toBeLessThanOrEqual(
          name === 'whoami' || name === 'count' ? 1 : 0,
        );
      }
      expect(JSON.parse(texts[1]!)).toMatchObject({ code: 'tool_not_found', hint: 'available tools: add' });
    });

    it('answers pool_saturated with 503 when the pool can queue no more', async () => {
      const { pool: tight } = await startTestPool({ ...ADAPTER, size: 1, maxQueue: 0 });
      try {
        const { baseUrl } = await start({}, tight);
        const marker = markerPath();
        const controller = new AbortController();
        const stream = await postJson(`${baseUrl}/stream/ticker`, { args: { marker } }, {}, controller.signal);
        await stream.body!.getReader().read();
        const response = await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } });
        const streamed = await postJson(`${baseUrl}/stream/sequence`, { args: { n: 2 } });
        controller.abort();

        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ code: 'pool_saturated' });
        // A stream that never got a worker is no stream: its status says why, as a call's does.
        expect(streamed.status).toBe(503);
        expect(streamed.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await streamed.json()).toMatchObject({ code: 'pool_saturated' });
      } finally {
        await tight.close();
      }
    });

    it('answers 504 for a stream whose call times out waiting for a worker, and cancels a waiting call whose client leaves', async () => {
      const { pool: single } = await startTestPool({ ...ADAPTER, size: 1 });
      try {
        const { baseUrl } = await start({}, single);
        const holding = new AbortController();
        const held = await postJson(`${baseUrl}/stream/ticker`, { args: { marker: markerPath() } }, {}, holding.signal);
        await held.body!.getReader().read();

        const timedOut = await postJson(`${baseUrl}/stream/sequence`, { args: { n: 2 }, timeout: 200 });
        expect(timedOut.status).toBe(504);
        expect(await timedOut.json()).toMatchObject({ code: 'timeout' });

        const leaving = new AbortController();
        const marker = markerPath();
        const waiting = postJson(`${baseUrl}/stream/ticker`, { args: { marker } }, {}, leaving.signal).catch(() => undefined);
        await waitUntil(() => single.stats().queued === 1, 5_000, 'the call to wait for the worker');
        leaving.abort();
        await waiting;
        await waitUntil(() => single.stats().queued === 0, 5_000, 'the waiting call to be withdrawn');
        holding.abort();
        await waitUntil(() => single.stats().busy === 0, 5_000, 'the worker to be idle');
        expect(markerEvents(marker)).toEqual([]);
      } finally {
        await single.close();
      }
    });
  });

  describe('GET /tools', () => {
    it('lists the exposed tools, and only those', async () => {
      const { baseUrl } = await start({ tools: ['add', 'count', 'not_a_tool'] });
      const body = (await (await fetch(`${baseUrl}/tools`)).json()) as { tools: { name: string }[] };

      expect(body.tools.map((tool) => tool.name).sort()).toEqual(['add', 'count']);
      expect(body.tools.find((tool) => tool.name === 'add')).toEqual({
        name: 'add',
        description: 'Not a streaming tool',
        supportsStreaming: false,
        parameters: [
          { name: 'a', type: 'int', required: true },
          { name: 'b', type: 'int', required: true },
        ],
        parametersSchema: expect.objectContaining({ properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] }),
        resultSchema: expect.any(Object),
      });
    });

    it("lists every tool with tools: '*'", async () => {
      const { baseUrl } = await start({ tools: '*' });
      const body = (await (await fetch(`${baseUrl}/tools`)).json()) as { tools: unknown[] };

      expect(body.tools).toHaveLength(pool.tools().length);
    });
  });

  describe('options', () => {
    it.each([
      ['no options', undefined],
      ['no tools', {}],
      ["'*' inside a list", { tools: ['*'] }],
      ['a tool name that is not a string', { tools: [1] }],
      ['a negative maxBodyBytes', { tools: '*', maxBodyBytes: -1 }],
      // Timers fire at once past 2^31 - 1 ms: a heartbeat every millisecond, a body timed out at once.
      ['a heartbeatInterval longer than a timer takes', { tools: '*', heartbeatInterval: 2 ** 31 }],
      ['a bodyTimeout longer than a timer takes', { tools: '*', bodyTimeout: 2 ** 31 }],
      ['a resumeWindow longer than a timer takes', { tools: '*', resumeWindow: 2 ** 31 }],
      ['a callTimeout longer than a timer takes', { tools: '*', callTimeout: 2 ** 31 }],
    ])('refuses %s', (_, options) => {
      expect(() => createHttpHandler(pool, options as unknown as HttpHandlerOptions)).toThrow(
        expect.objectContaining({ code: 'invalid_arguments' }),
      );
    });
  });

  describe('authorize', () => {
    it.each([
      [false, 401, 'unauthenticated'],
      ['unauthenticated', 401, 'unauthenticated'],
      ['forbidden', 403, 'permission_denied'],
    ] as const)('refuses a request it answers %s with %i before anything runs', async (verdict, status, code) => {
      const { baseUrl } = await start({ authorize: () => Promise.resolve(verdict) });
      const marker = markerPath();
      const responses = await Promise.all([
        postJson(`${baseUrl}/stream/ticker`, { args: { marker } }),
        postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } }),
        fetch(`${baseUrl}/tools`),
      ]);

      for (const response of responses) {
        expect(response.status).toBe(status);
        expect(await response.json()).toMatchObject({ code });
      }
      expect(markerEvents(marker)).toEqual([]);
    });

    it('lets through a request it answers true, and sees its headers', async () => {
      const { baseUrl } = await start({ authorize: (req) => req.headers.authorization === 'Bearer ok' });

      expect((await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } }, { Authorization: 'Bearer ok' })).status).toBe(200);
      expect((await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } }, { Authorization: 'Bearer no' })).status).toBe(401);
    });

    it('answers 500 without details when authorize throws', async () => {
      const { baseUrl } = await start({
        authorize: () => {
          throw new Error('database password is hunter2');
        },
      });
      const response = await fetch(`${baseUrl}/tools`);

      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('hunter2');
    });
  });

  describe('bad requests', () => {
    it.each([
      ['a body that is not JSON', 415, 'text/plain', 'args=1'],
      ['malformed JSON', 400, 'application/json', '{"args": '],
      ['a JSON array', 400, 'application/json', '[1]'],
      ['args that are not an object', 400, 'application/json', '{"args": [1, 2]}'],
      ['an unknown field', 400, 'application/json', '{"arguments": {"a": 1}}'],
      ['a sessionId that is not a string', 400, 'application/json', '{"sessionId": {"a": 1}}'],
      ['a sessionId of 257 characters', 400, 'application/json', JSON.stringify({ sessionId: 's'.repeat(257) })],
      ['a timeout that is not a positive number', 400, 'application/json', '{"timeout": -5}'],
      ['arguments nested 200 deep', 400, 'application/json', `{"args": {"a": ${'['.repeat(200)}${']'.repeat(200)}}}`],
      ['a body over maxBodyBytes', 413, 'application/json', JSON.stringify({ args: { a: 'x'.repeat(2 * 1024 * 1024) } })],
    ])('answers %s with %i and invalid_arguments', async (_, status, contentType, body) => {
      const { baseUrl } = await start();
      const response = await fetch(`${baseUrl}/execute/add`, { method: 'POST', headers: { 'Content-Type': contentType }, body });

      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ code: 'invalid_arguments', message: expect.any(String) });
    });

    it('refuses a body that is not UTF-8 rather than replacing its bytes, read here or passed on by a framework', async () => {
      const body = Buffer.concat([Buffer.from('{"args": {"value": "a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('b"}}')]);
      const { baseUrl } = await start({ tools: ['echo'] });
      const handler = createHttpHandler(pool, { tools: ['echo'] });
      // A framework that read the body as bytes (express.raw(), a Fastify buffer parser) passes them as req.body.
      const framework = await serve((req, res) => handler(Object.assign(req, { body }), res));
      servers.push(framework);

      for (const url of [baseUrl, framework.baseUrl]) {
        const response = await fetch(`${url}/execute/echo`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json; charset=utf-8' },
          body,
        });

        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ code: 'invalid_arguments', message: 'the request body is not valid UTF-8' });
      }
    });

    it('refuses a body that starts with a byte order mark, as JSON over a network never does', async () => {
      const { baseUrl } = await start({ tools: ['echo'] });
      const response = await fetch(`${baseUrl}/execute/echo`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from('\uFEFF{"args": {"value": 1}}'),
      });

      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(/not valid JSON/) });
    });

    it('refuses a tool name over 256 characters, quoting little of it', async () => {
      const { baseUrl } = await start();
      const response = await postJson(`${baseUrl}/execute/${'t'.repeat(2_000)}`, {});
      const text = await response.text();

      expect(response.status).toBe(400);
      expect(text.length).toBeLessThan(500);
    });

    it('quotes at most 64 characters of a tool name it does not know', async () => {
      const { baseUrl } = await start();
      const text = await (await postJson(`${baseUrl}/execute/${'t'.repeat(250)}`, {})).text();

      expect(text).not.toContain('t'.repeat(65));
    });

    it.each([
      ['a binaries path that names no value', { path: ['A'.repeat(100_000)], encoding: 'bytes' }, 'A'.repeat(65)],
      ['an ndarray dtype', { path: ['a'], encoding: 'ndarray', dtype: 'A'.repeat(100_000), shape: [1] }, 'A'.repeat(65)],
      ['an ndarray shape', { path: ['a'], encoding: 'ndarray', dtype: 'uint8', shape: new Array<number>(20_000).fill(7) }, '7,'.repeat(33)],
    ])('quotes at most 64 characters of %s it refuses', async (_, binary, echoed) => {
      const { baseUrl } = await start();
      const response = await postJson(`${baseUrl}/execute/add`, { args: { a: 'AA==', b: 1 }, binaries: [binary] });
      const { code, message } = (await response.json()) as { code: string; message: string };

      expect(response.status).toBe(400);
      expect(code).toBe('invalid_arguments');
      expect(message).not.toContain(echoed);
      expect(message.length).toBeLessThan(200);
    });

    it.each([
      ['GET', '/nope', 404],
      ['GET', '/stream/count', 405],
      ['PUT', '/execute/add', 405],
      ['POST', '/tools', 405],
      ['GET', '/stream/resume/not*an*id', 400],
      ['GET', '/stream/resume/AAAAAAAAAAAAAAAAAAAAAA', 404],
      ['DELETE', '/stream/AAAAAAAAAAAAAAAAAAAAAA', 404],
      ['GET', '/execute/%E0%A4%A', 405],
      ['POST', '/execute/%E0%A4%A', 400],
    ])('answers %s %s with %i', async (method, path, status) => {
      const { baseUrl } = await start();
      const response = await fetch(`${baseUrl}${path}`, { method });

      expect(response.status).toBe(status);
      if (status === 405) expect(response.headers.get('allow')).toBeTruthy();
      expect(await response.json()).toMatchObject({ code: 'invalid_arguments' });
    });

    it('finds a route under any prefix when called from a server of its own (not as middleware), and only a route', async () => {
      const { baseUrl } = await start();

      expect((await fetch(`${baseUrl}/api/v1/tools`)).status).toBe(200);
      expect(await (await postJson(`${baseUrl}/api/execute/add`, { args: { a: 2, b: 2 } })).json()).toEqual({ result: 4 });
      expect((await fetch(`${baseUrl}/api/tools/more`)).status).toBe(404);
      expect((await fetch(`${baseUrl}/api/execute/add`)).status).toBe(405);
    });

    it('with basePath, serves routes below it only', async () => {
      const { baseUrl } = await start({ basePath: '/snakepit/' });

      expect((await fetch(`${baseUrl}/snakepit/tools`)).status).toBe(200);
      expect(await (await postJson(`${baseUrl}/snakepit/execute/add`, { args: { a: 2, b: 2 } })).json()).toEqual({ result: 4 });
      // A route's path outside basePath, without it or under another prefix, is no route.
      for (const [method, path] of [
        ['GET', '/elsewhere/tools'],
        ['GET', '/tools'],
        ['POST', '/execute/add'],
        ['GET', '/snakepit-other/tools'],
      ] as const) {
        const response = await (method === 'GET' ? fetch(`${baseUrl}${path}`) : postJson(`${baseUrl}${path}`, { args: { a: 2, b: 2 } }));

        expect(response.status, `${method} ${path}`).toBe(404);
        expect(await response.json()).toMatchObject({ code: 'invalid_arguments', message: `no route for ${method} "${path}"` });
      }
    });

    it('answers a body that does not arrive in time with 408, and keeps no stream slot for it', async () => {
      const { baseUrl } = await start({ bodyTimeout: 200, maxConcurrentStreams: 1 });
      const { req, response } = rawRequest(`${baseUrl}/stream/count`, {
        headers: { 'Content-Type': 'application/json', 'Content-Length': '100' },
      });
      req.write('{"args": ');
      const slow = await response;

      expect(slow.statusCode).toBe(408);
      req.destroy();
      const { events } = await readEvents(await postJson(`${baseUrl}/stream/count`, { args: { n: 1 } }));
      expect(events.at(-1)?.data).toMatchObject({ isFinal: true });
    });

    it('refuses to resume a live stream on a server that keeps no stream for a reconnection (no resumeWindow)', async () => {
      const { baseUrl } = await start();
      const { controller, response, reader } = await liveTicker(baseUrl);
      const streamId = response.headers.get('snakepit-stream-id')!;
      const taken = await fetch(`${baseUrl}/stream/resume/${streamId}`, { headers: { 'Last-Event-ID': '-1' } });
      const next = await reader.read();
      controller.abort();

      expect(taken.status).toBe(404);
      expect(await taken.json()).toMatchObject({ code: 'invalid_arguments', message: expect.stringContaining('resumeWindow') });
      expect(next.done).toBe(false);
    });

    it('answers 503 with Retry-After past maxConcurrentStreams', async () => {
      const { baseUrl } = await start({ maxConcurrentStreams: 1 });
      const { controller } = await liveTicker(baseUrl);
      const second = await postJson(`${baseUrl}/stream/count`, { args: { n: 1 } });
      controller.abort();

      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(await second.json()).toMatchObject({ code: 'pool_saturated' });
    });

    // The slot is the request's from before its body is read: bodies being read hold memory too (up to maxBodyBytes each).
    async function holdingSlotWhileSending(baseUrl: string, route: string, authorized: Promise<void>) {
      const body = JSON.stringify({ args: { a: 1, b: 2 } });
      const { req, response } = rawRequest(`${baseUrl}${route}`, {
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
      });
      req.write(body.slice(0, 5));
      await authorized;
      // The handler reserves its slot in the same turn as `authorize` answers.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return { finish: () => req.end(body.slice(5)), response };
    }

    function authorizeOnce() {
      let seen!: () => void;
      const authorized = new Promise<void>((resolve) => (seen = resolve));
      return { authorized, authorize: () => (seen(), true) };
    }

    it('counts a stream whose body is still being read against maxConcurrentStreams', async () => {
      const { authorized, authorize } = authorizeOnce();
      const { baseUrl } = await start({ maxConcurrentStreams: 1, authorize });
      const first = await holdingSlotWhileSending(baseUrl, '/stream/count', authorized);
      const second = await postJson(`${baseUrl}/stream/count`, { args: { n: 1 } });
      first.finish();

      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(await second.json()).toMatchObject({ code: 'pool_saturated' });
      expect((await first.response).statusCode).toBe(200);
    });

    it('answers 503 with Retry-After past maxConcurrentCalls /execute calls, counting those whose body is being read', async () => {
      const { authorized, authorize } = authorizeOnce();
      const { baseUrl } = await start({ maxConcurrentCalls: 1, authorize });
      const first = await holdingSlotWhileSending(baseUrl, '/execute/add', authorized);
      const second = await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } });
      first.finish();

      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(await second.json()).toMatchObject({ code: 'pool_saturated', message: expect.stringContaining('1 calls') });
      const answered = await first.response;
      expect(answered.statusCode).toBe(200);
      expect(JSON.parse(await answered.text)).toEqual({ result: 3 });
      const third = await postJson(`${baseUrl}/execute/add`, { args: { a: 2, b: 2 } });
      expect(await third.json()).toEqual({ result: 4 });
    });

    it('holds an /execute slot while the call runs, and frees it when the client goes away', async () => {
      const { baseUrl } = await start({ maxConcurrentCalls: 1, tools: [...EXPOSED, 'wait_for_cancel'] });
      const marker = markerPath();
      const controller = new AbortController();
      const running = postJson(`${baseUrl}/execute/wait_for_cancel`, { args: { marker } }, {}, controller.signal).catch(() => undefined);
      await waitUntil(() => markerEvents(marker).includes('started'), 10_000, 'the tool to start');
      const refused = await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } });
      controller.abort();
      await running;
      await waitUntil(() => markerEvents(marker).includes('cancelled'), 10_000, 'the tool to hear of the cancel');

      expect(refused.status).toBe(503);
      await waitUntil(() => pool.stats().busy === 0, 5_000, 'the cancelled call to end');
      const after = await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 2 } });
      expect(await after.json()).toEqual({ result: 3 });
    });

    it('reads a quoted charset as the same charset (RFC 9110), and refuses a charset given twice', async () => {
      const { baseUrl } = await start();
      const add = (contentType: string) =>
        fetch(`${baseUrl}/execute/add`, { method: 'POST', headers: { 'Content-Type': contentType }, body: '{"args": {"a": 1, "b": 2}}' });

      const quoted = await add('Application/JSON; Charset="UTF-8"');
      expect(quoted.status).toBe(200);
      expect(await quoted.json()).toEqual({ result: 3 });
      const twice = await add('application/json; charset=utf-8; charset=latin1');
      expect(twice.status).toBe(415);
      expect(await twice.json()).toMatchObject({ code: 'invalid_arguments' });
    });

    it('refuses a body with two Content-Type headers rather than reading it as the first says', async () => {
      const { port } = await start();
      const body = '{"args": {"a": 1, "b": 2}}';
      const socket = connect(port, '127.0.0.1');
      socket.write(
        'POST /execute/add HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n' +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      );
      let answer = '';
      socket.setEncoding('latin1').on('data', (part: string) => (answer += part));
      await once(socket, 'end');
      socket.destroy();

      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        code: 'invalid_arguments',
        message: expect.stringMatching(/Content-Type/),
      });
    });

    it('refuses a compressed body with 415 rather than reading its bytes as JSON', async () => {
      const { baseUrl } = await start();
      const response = await fetch(`${baseUrl}/execute/add`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        body: '{"args": {"a": 1, "b": 2}}',
      });

      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(/Content-Encoding/) });
    });

    it('keeps serving after a client sends garbage on the socket', async () => {
      const { baseUrl, port } = await start();
      const socket = connect(port, '127.0.0.1');
      socket.write('POST /execute/add HTTP/1.1\r\nContent-Length: nonsense\r\n\r\n\u0000\u0001');
      const [answer] = (await once(socket, 'data')) as [Buffer];
      socket.destroy();

      expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 400/);
      expect(await (await postJson(`${baseUrl}/execute/add`, { args: { a: 1, b: 1 } })).json()).toEqual({ result: 2 });
    });
  });
});
