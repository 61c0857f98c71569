/**
 * The pool served to browsers from an Express app: `app.use('/snakepit', handler)`.
 * Paths are relative to the mount point, so the page's client uses
 * `createHttpClient({ baseUrl: '/snakepit' })`. Express's `json()` may run
 * first: the handler uses the body it parsed.
 *
 * Run: npx tsx examples/express-server.ts     then:
 *   curl -N -X POST -H 'Content-Type: application/json' -d '{"args": {"steps": 5}}' http://127.0.0.1:3000/snakepit/stream/stream_progress
 */
import type { Server } from 'node:http';
import express from 'express';
import { createHttpHandler, createPool, type SnakepitPool } from 'snakepit-rx';
import { adapters, examplePoolOptions, isMain } from './shared.js';

/** An Express app with the pool mounted under /snakepit; browsers may call `stream_progress` only. */
export function expressApp(pool: SnakepitPool): express.Express {
  const app = express();
  app.use(express.json());
  app.use('/snakepit', createHttpHandler(pool, { tools: ['stream_progress'] }));
  return app;
}

if (isMain(import.meta.url)) {
  const pool = await createPool(examplePoolOptions(adapters.my));
  const server: Server = expressApp(pool).listen(3000, '127.0.0.1', () => console.log('listening on http://127.0.0.1:3000/snakepit'));
  process.once('SIGINT', () => {
    server.close();
    void pool.close();
  });
}
