/**
 * The pool served to browsers from a Fastify app, through `reply.raw`:
 * Fastify hands over Node's own request and response once the route
 * hijacks the reply. Fastify does not strip the route's prefix, so the
 * handler gets it as `basePath`; the body Fastify parsed is passed on as `req.body`.
 *
 * Run: npx tsx examples/fastify-server.ts     then:
 *   curl -N -X POST -H 'Content-Type: application/json' -d '{"args": {"steps": 5}}' http://127.0.0.1:3001/snakepit/stream/stream_progress
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { createHttpHandler, createPool, type SnakepitPool } from 'snakepit-rx';
import { adapters, examplePoolOptions, isMain } from './shared.js';

/** A Fastify app with the pool under /snakepit; browsers may call `stream_progress` only. */
export function fastifyApp(pool: SnakepitPool): FastifyInstance {
  const app = Fastify();
  const snakepit = createHttpHandler(pool, { tools: ['stream_progress'], basePath: '/snakepit' });
  app.all('/snakepit/*', (request, reply) => {
    reply.hijack();
    snakepit(Object.assign(request.raw, { body: request.body }), reply.raw);
  });
  return app;
}

if (isMain(import.meta.url)) {
  const pool = await createPool(examplePoolOptions(adapters.my));
  const app = fastifyApp(pool);
  await app.listen({ port: 3001, host: '127.0.0.1' });
  console.log('listening on http://127.0.0.1:3001/snakepit');
  process.once('SIGINT', () => {
    void app.close().then(() => pool.close());
  });
}
