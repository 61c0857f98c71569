import { readFileSync } from 'node:fs';
import { createHttpHandler, type HttpHandlerOptions, type SnakepitPool } from '../../lib/index.js';
import { serve, type TestServer } from './http.js';

const testPage = readFileSync(new URL('../browser/test-page.html', import.meta.url), 'utf8');

/** Serves the test page (`/`), the bundle (`/client.js`) and the pool's handler under `/api`, from one origin. */
export async function startPageServer(pool: SnakepitPool, bundle: string, options: Partial<HttpHandlerOptions> = {}): Promise<TestServer> {
  const handler = createHttpHandler(pool, { tools: '*', basePath: '/api', ...options });
  return serve((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/' || path === '/client.js') {
      res.writeHead(200, { 'Content-Type': path === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8' });
      res.end(path === '/' ? testPage : bundle);
      return;
    }
    handler(req, res);
  });
}
