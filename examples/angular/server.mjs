/**
 * Serves the built app (dist/browser) and the pool under /snakepit, from one
 * origin. `npm start` builds the app and runs this; `npm run serve` only runs it.
 *
 * Environment: PORT (default 4200; 0 picks a free one), HOST (127.0.0.1),
 * SNAKEPIT_ADAPTER and SNAKEPIT_PYTHONPATH to serve another adapter
 * (default: the guide's MLStreamingAdapter from examples/adapters).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHttpHandler, createPool } from 'snakepit-rx';

const here = fileURLToPath(new URL('.', import.meta.url));
const appDir = join(here, 'dist', 'browser');
const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ico': 'image/x-icon',
};

/** A file of the built app; any other path gets index.html, the app's only page. */
async function serveApp(req, res) {
  let path;
  try {
    path = decodeURIComponent((req.url ?? '/').split('?')[0]);
  } catch {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('the path is not valid percent-encoding\n');
    return;
  }
  let file = resolve(appDir, `.${normalize(path)}`);
  if (
    !file.startsWith(appDir) ||
    !(await stat(file).then(
      (info) => info.isFile(),
      () => false,
    ))
  )
    file = join(appDir, 'index.html');
  res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

const pool = await createPool({
  adapter: process.env.SNAKEPIT_ADAPTER ?? 'ml_streaming_adapter.MLStreamingAdapter',
  pythonPath: process.env.SNAKEPIT_PYTHONPATH ?? join(here, '..', 'adapters'),
  size: 2,
});
// Browsers may call train_with_progress, and nothing else.
const snakepit = createHttpHandler(pool, { tools: ['train_with_progress'], basePath: '/snakepit' });
const server = createServer((req, res) => {
  if (req.url === '/snakepit' || req.url?.startsWith('/snakepit/')) snakepit(req, res);
  else serveApp(req, res).catch(() => res.destroy());
});
server.listen(Number(process.env.PORT ?? 4200), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    pool.close().then(() => process.exit(0));
  });
}
