import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressApp } from '../../examples/express-server.js';
import { fastifyApp } from '../../examples/fastify-server.js';
import { adapters, examplePoolOptions } from '../../examples/shared.js';
import { createHttpClient } from '../../lib/browser/index.js';
import { createPool, type SnakepitPool } from '../../lib/index.js';
import { postJson, readEvents } from '../support/http.js';

describe('the HTTP handler mounted in a framework', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    pool = await createPool(examplePoolOptions(adapters.my));
  });
  afterAll(() => pool.close());

  const frameworks = {
    'Express, app.use("/snakepit", handler) after express.json()': async () => {
      const server: Server = expressApp(pool).listen(0, '127.0.0.1');
      await once(server, 'listening');
      return {
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: async () => {
          server.closeAllConnections();
          server.close();
          await once(server, 'close');
        },
      };
    },
    'Fastify, through reply.raw': async () => {
      const app = fastifyApp(pool);
      const origin = await app.listen({ port: 0, host: '127.0.0.1' });
      return { origin, close: () => app.close() };
    },
  };

  describe.each(Object.entries(frameworks))('%s', (_, start) => {
    let origin: string;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ origin, close } = await start());
    });
    afterAll(() => close());

    it('streams every chunk to the client, with paths relative to the mount point', async () => {
      const client = createHttpClient({ baseUrl: `${origin}/snakepit` });
      const chunks = await lastValueFrom(client.stream<{ step: number }>('stream_progress', { steps: 4 }).pipe(toArray()));

      expect(chunks.map((chunk) => chunk.data?.step ?? null)).toEqual([1, 2, 3, 4, null]);
    });

    it('reads the arguments from the body the framework parsed', async () => {
      const { events } = await readEvents(await postJson(`${origin}/snakepit/stream/stream_progress`, { args: { steps: 2 } }));

      expect(events.filter((event) => event.event === 'chunk')).toHaveLength(3);
    });

    it('lists and serves only the allowed tool', async () => {
      const client = createHttpClient({ baseUrl: `${origin}/snakepit` });

      expect((await client.tools()).map((tool) => tool.name)).toEqual(['stream_progress']);
      await expect(client.execute('stream_progress')).rejects.toMatchObject({ code: 'not_unary', status: 400 });
    });
  });
});
