import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { createHttpHandler, type SnakepitPool } from 'snakepit-rx';
import { onCleanup } from './cleanup.js';
import { bundleBrowserClient, launchChromium } from '../../spec/support/browser-tools.js';

// tsx keeps function names with esbuild's __name helper, which code that page.evaluate() sends along calls.
const PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><script>globalThis.__name = (target) => target;</script>' +
  '<script src="/client.js"></script></head><body></body></html>';

/** Headless Chromium, closed at the end of the run whatever happens. */
export async function launchBenchBrowser(): Promise<Browser> {
  const browser = await launchChromium();
  onCleanup(() => browser.close());
  return browser;
}

/** Serves a blank page with the client (`/`), and the pool's handler under `/api`, from one origin. */
export async function servePage(pool: SnakepitPool, tools: readonly string[]): Promise<{ url: string; server: Server }> {
  const bundle = await bundleBrowserClient({ minify: true });
  const handler = createHttpHandler(pool, { tools, basePath: '/api' });
  const server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': req.url === '/' ? 'text/html' : 'text/javascript' });
      res.end(req.url === '/' ? PAGE : bundle);
    } else handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}
